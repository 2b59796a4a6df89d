"""``trunkml approve`` and ``trunkml approvals list``: a reviewer sees the evidence, then signs off."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from trunkml.cli.options import ByOpt, EnvOpt, JsonOpt, ModelOpt, env_settings
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
            cells += [
                "-" if new.get("value") is None else f"{new['value']:.3f}",
                "-" if change is None else f"{change * 100:+.1f} pts",
                guard,
            ]
            table.add_row(*cells)
        out.print(table)
    else:
        out.print("slices: the eval set declares none (`trunkml data slices`)")
    out.print(f"report: {evidence.report}")


def approve_command(
    ref: Annotated[str, typer.Argument(help="Version: N, @challenger, sha:<git>.")],
    key: Annotated[
        Path | None,
        typer.Option(help="Your SSH private key (default: TRUNKML_APPROVAL_KEY, else git's user.signingkey)."),
    ] = None,
    github_reviewer: Annotated[
        bool,
        typer.Option(
            "--github-reviewer",
            help="In GitHub Actions: attest the environment's reviewer from the run's approval record, "
            "signed with the environment's attestor key (TRUNKML_APPROVAL_KEY).",
        ),
    ] = False,
    by: ByOpt = None,
    comment: Annotated[str, typer.Option(help="Why.")] = "",
    env: EnvOpt = None,
    model: ModelOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (scripts, CI).")] = False,
    json_: JsonOpt = False,
) -> None:
    """Show a version's evidence (decision, infra validation, slices, report), then sign an approval of it.

    The approval is a statement over the evidence signed with your SSH key; it counts only if the key
    is in the project's allowed-signers file and you wrote none of the change. Refused while any of
    the evidence is missing. On a terminal it asks for confirmation unless --yes.
    """
    import sys

    from trunkml.config import resolve_model
    from trunkml.registry import Registry, show
    from trunkml.release.evidence import gather_evidence
    from trunkml.release.signoff import sign_off, sign_off_github_review

    settings = env_settings(env)
    registry = Registry(settings)
    record = show(registry, resolve_model(settings, model), ref)
    if github_reviewer:
        approvals, evidence = sign_off_github_review(settings, registry, record, settings.env.value)
    else:
        evidence = gather_evidence(settings, registry, record)
        if not json_:
            _render_evidence(evidence)
        if not yes and not json_ and sys.stdin.isatty():
            typer.confirm(f"sign an approval of {record.ref} for '{settings.env.value}'?", abort=True)
        approvals = [sign_off(settings, registry, record, settings.env.value, comment, key, by)[0]]
    if json_:
        print_json(
            {"approvals": [a.model_dump(mode="json") for a in approvals], "evidence": evidence.model_dump(mode="json")}
        )
        return
    for approval in approvals:
        via = " (GitHub environment review, attested)" if approval.statement.via != "ssh" else ""
        out.print(
            f"[green]approved[/] {record.ref} for '{approval.env}' by {approval.by}{via}: signed statement over "
            f"decision {approval.decision[:12]}, files {approval.statement.manifest_sha256[:12]}"
        )


@approvals_app.command("list")
def approvals_list(
    ref: Annotated[str, typer.Argument(help="Version (default @challenger).")] = "@challenger",
    env: EnvOpt = None,
    model: ModelOpt = None,
    json_: JsonOpt = False,
) -> None:
    """List the approvals of a version for an environment, each verified: who, when, and whether it counts."""
    from trunkml.approvals.approval import current_decision, judge
    from trunkml.approvals.chain import Trust
    from trunkml.config import resolve_model
    from trunkml.registry import Registry, show

    settings = env_settings(env)
    record = show(Registry(settings), resolve_model(settings, model), ref)
    trust = Trust.of(settings)
    name = settings.env.value
    found = judge(record, trust.rule(name), name, current_decision(record), trust.signers, trust.attestors)
    if json_:
        print_json(found)
        return
    table = Table("env", "approver", "at (UTC)", "via", "counts", title=f"approvals of {record.ref}")
    for verdict in found:
        counts = "[green]yes[/]" if verdict.counts else f"[red]no[/]: {verdict.reason}"
        table.add_row(verdict.env, verdict.approver, verdict.at[:19], verdict.via, counts)
    out.print(table if found else f"{record.ref} has no approvals for '{name}'")
