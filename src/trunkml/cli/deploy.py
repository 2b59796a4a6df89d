"""``trunkml approve|approvals|promote|rollback|history|status``: getting a version to production, visibly."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.table import Table

from trunkml.cli.context import load_settings
from trunkml.cli.output import out, print_json
from trunkml.config import Settings
from trunkml.errors import UsageError

if TYPE_CHECKING:  # these load MLflow: only when a command runs
    from trunkml.pipelines.review import Evidence
    from trunkml.registry.events import Event

ModelOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--model", "-m", help="Registered model (default: 'model' in trunkml.yaml)."),
]
ByOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--by", help="Who acts (default: TRUNKML_ACTOR, else GITHUB_ACTOR)."),
]
EnvOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--env", help="Environment (default: TRUNKML_ENV)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document to stdout.")]
approvals_app = typer.Typer(help="Approvals recorded on model versions.", no_args_is_help=True)


def _settings(env: str | None) -> Settings:
    """Settings of ``env`` (default TRUNKML_ENV), with that environment's registry from trunkml.yaml."""
    from trunkml.config import settings_for

    settings = load_settings()
    return settings if env is None else settings_for(settings, env)


def _actor(by: str | None, fallback: str | None) -> str:
    actor = by or fallback
    if not actor:
        raise UsageError("who is acting?", hint="pass --by NAME, or set TRUNKML_ACTOR (CI: GITHUB_ACTOR is used)")
    return actor


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
    from trunkml.pipelines.promotion import resolve_model
    from trunkml.pipelines.review import gather_evidence
    from trunkml.registry import Registry, show

    settings = _settings(env)
    registry = Registry(settings)
    record = show(registry, resolve_model(settings, model), ref)
    who = _actor(by, settings.actor)
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
    from trunkml.approvals.records import approvals_of
    from trunkml.pipelines.promotion import resolve_model
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


def promote_command(
    ref: Annotated[str, typer.Argument(help="Version to promote (e.g. @challenger, 7).")],
    by: ByOpt = None,
    reason: Annotated[str, typer.Option(help="Why.")] = "",
    env: EnvOpt = None,
    source: Annotated[Optional[str], typer.Option("--from", help="Copy from this environment's registry...")] = None,  # noqa: UP045
    target: Annotated[Optional[str], typer.Option("--to", help="...into this one, then promote there.")] = None,  # noqa: UP045
    model: ModelOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Move @champion to a version: needs a current PROMOTE gate decision, approvals, and intact artifacts."""
    from trunkml.pipelines.environments import promote_across
    from trunkml.pipelines.promotion import promote

    if (source is None) != (target is None):
        raise UsageError("--from and --to go together", hint="e.g. trunkml promote 7 --from dev --to prod")
    settings = _settings(env)
    actor = _actor(by, settings.actor)
    if source and target:
        result = promote_across(settings, ref, source, target, actor, reason, model)
    else:
        result = promote(settings, ref, actor, reason, model)
    for note in [] if json_ else result.notes:
        out.print(f"  {note}")
    print_json(result) if json_ else out.print(
        f"[green]promoted[/] {result.model} v{result.version} to @champion in '{result.env}'"
        + (f" (v{result.previous} is now @previous)" if result.previous else "")
    )


def rollback_command(
    to: Annotated[Optional[str], typer.Option("--to", help="Version to return to.")] = None,  # noqa: UP045
    reason: Annotated[str, typer.Option(help="Why.")] = "",
    by: ByOpt = None,
    env: EnvOpt = None,
    model: ModelOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Return @champion to the previous champion (from history) or --to a former champion; no fresh gate needed."""
    from trunkml.pipelines.promotion import rollback

    settings = _settings(env)
    result = rollback(settings, _actor(by, settings.actor), to, reason, model)
    if json_:
        print_json(result)
        return
    out.print(
        f"[yellow]rolled back[/] {result.model} @champion v{result.previous} → v{result.version} in '{result.env}'"
    )
    for note in result.notes:
        out.print(f"  {note}")


def _events_table(events: list[Event], title: str) -> Table:
    table = Table("at (UTC)", "event", "alias", "from", "to", "env", "actor", "reason", title=title)
    for e in events:
        table.add_row(
            e.at[:19], e.kind, e.alias, str(e.from_version or "-"), str(e.to_version or "-"), e.env, e.actor, e.reason
        )
    return table


def history_command(model: ModelOpt = None, json_: JsonOpt = False) -> None:
    """Every promotion, rollback and approval, oldest first (stored in the registry backend)."""
    from trunkml.pipelines.promotion import resolve_model
    from trunkml.registry import Registry
    from trunkml.registry.events import history

    settings = load_settings()
    name = resolve_model(settings, model)
    events = history(Registry(settings), name)
    print_json(events) if json_ else out.print(
        _events_table(events, f"history of {name}") if events else f"no history for {name} yet"
    )


def status_command(env: EnvOpt = None, model: ModelOpt = None, json_: JsonOpt = False) -> None:
    """Champion and challenger (versions, commits), the pending decision and approvals, the last events."""
    from trunkml.pipelines.promotion import status

    result = status(_settings(env), model)
    if json_:
        print_json(result)
        return
    out.print(f"[bold]{result.model}[/] in '{result.env}' ({result.tracking_uri})")
    for role, record in (("champion", result.champion), ("challenger", result.challenger)):
        out.print(f"  {role:<10} " + (f"v{record.version} @ {(record.git_sha or '-')[:8]}" if record else "-"))
    decision = result.decision
    out.print(
        f"  gate       {decision['decision']} vs {decision['champion']} on {decision['eval']}"
        if decision
        else "  gate       no decision for the challenger yet"
    )
    out.print(f"  approvals  {result.approvals} of {result.approvals_required} for '{result.env}'")
    if result.events:
        out.print(_events_table(result.events, "last events"))
