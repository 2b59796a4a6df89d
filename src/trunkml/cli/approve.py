"""``trunkml approve`` and ``trunkml approvals list``: a reviewer sees the evidence, then signs off."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from trunkml.cli.context import load_settings
from trunkml.cli.options import ByOpt, EnvOpt, JsonOpt, ModelOpt, acting, env_settings
from trunkml.cli.output import out, print_json

if TYPE_CHECKING:  # these load MLflow: only when a command runs
    from trunkml.release.evidence import Evidence

approvals_app = typer.Typer(help="Approvals recorded on model versions.", no_args_is_help=True)


def _render_evidence(evidence: Evidence) -> None:
    decision = evidence.decision
    colour = "green" if decision.decision == "promote" else "red"
    against = "no champion (cold start)" if decision.champion == "none" else f"champion v{decision.champion}"
    out.print(
        f"[bold]{evidence.model} v{evidence.version}[/]: gate decision [bold {colour}]{decision.decision.upper()}[/] "
        f"against {against} on {decision.eval} ({decision.decided_at[:19]} UTC)"
    )
    for reason in evidence.reasons:
        out.print(f"  • {reason}", highlight=False)
    infra = evidence.infra
    if infra is None:
        out.print("infra validation: not required here")
    else:
        verdict = "[green]passed[/]" if infra.passed else "[red]FAILED[/]"
        out.print(
            f"infra validation {verdict} ({infra.validated_at[:19]} UTC): p99 {infra.p99_ms or 0:.0f} ms, "
            f"peak memory {infra.peak_memory_mib or 0:.0f} MiB"
        )
    if evidence.slices:
        paired = any(row.get("champion_recall") for row in evidence.slices)
        columns = ["slice", "positives", *(["champion recall"] if paired else []), "recall", "change", "guard"]
        table = Table(*columns, title="recall per slice of the eval set")
        for row in evidence.slices:
            old, new = row.get("champion_recall") or {}, row.get("challenger_recall") or {}
            change = row.get("recall_difference")
            guard = "FAILS" if row.get("flagged") else "holds" if row.get("checked") else "reported only"
            cells = [str(row["name"]), str(row["positives"])]
            if paired:
                cells.append("-" if old.get("value") is None else f"{old['value']:.3f}")
            cells += ["-" if new.get("value") is None else f"{new['value']:.3f}",
                      "-" if change is None else f"{change * 100:+.1f} pts", guard]  # fmt: skip
            table.add_row(*cells)
        out.print(table)
    else:
        out.print("slices: the eval set declares none (`trunkml data slices`)")
    out.print(f"report: {evidence.report}")


def approve_command(
    ref: Annotated[str, typer.Argument(help="Version: N, @challenger, sha:<git>.")],
    by: ByOpt = None,
    comment: Annotated[str, typer.Option(help="Why.")] = "",
    env: EnvOpt = None,
    model: ModelOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (scripts, CI).")] = False,
    json_: JsonOpt = False,
) -> None:
    """Show a version's evidence (decision, infra validation, slices, report), then record an approval.

    Refused while any of the evidence is missing. On a terminal it asks for confirmation unless --yes.
    """
    import sys

    from trunkml.approvals import approve
    from trunkml.config import resolve_model
    from trunkml.registry import Registry, show
    from trunkml.release.evidence import gather_evidence

    settings = env_settings(env)
    registry = Registry(settings)
    record = show(registry, resolve_model(settings, model), ref)
    who = acting(by, settings.actor)
    evidence = gather_evidence(settings, registry, record)
    if not json_:
        _render_evidence(evidence)
    if not yes and not json_ and sys.stdin.isatty():
        typer.confirm(f"approve {record.ref} for '{settings.env.value}' as {who}?", abort=True)
    approval = approve(registry, record, who, settings.env.value, comment)
    if json_:
        print_json({**approval.model_dump(mode="json"), "evidence": evidence.model_dump(mode="json")})
        return
    out.print(
        f"[green]approved[/] {record.ref} for '{approval.env}' by {approval.by} (decision {approval.decision[:12]})"
    )


@approvals_app.command("list")
def approvals_list(
    ref: Annotated[str, typer.Argument(help="Version (default @challenger).")] = "@challenger",
    model: ModelOpt = None,
    json_: JsonOpt = False,
) -> None:
    """List the approvals of a version, with who, when, for which environment and decision."""
    from trunkml.approvals.approval import approvals_of
    from trunkml.config import resolve_model
    from trunkml.registry import Registry, show

    settings = load_settings()
    record = show(Registry(settings), resolve_model(settings, model), ref)
    found = approvals_of(record)
    if json_:
        print_json(found)
        return
    table = Table("env", "by", "at (UTC)", "decision", "comment", title=f"approvals of {record.ref}")
    for a in found:
        table.add_row(a.env, a.by, a.at[:19], a.decision[:12], a.comment)
    out.print(table if found else f"{record.ref} has no approvals")
