"""``trunkml audit [VERSION] [--repair]``: check the history chain, the aliases, the approvals and a decision."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from trunkml.cli.options import ByOpt, EnvOpt, JsonOpt, ModelOpt, acting, env_settings
from trunkml.cli.output import PhaseProgress, out, print_json
from trunkml.errors import EXIT_REFUSED

if TYPE_CHECKING:  # loads MLflow: only when the command runs
    from trunkml.release.audit import AuditReport


def audit_command(
    version: Annotated[
        Optional[str],  # noqa: UP045
        typer.Argument(help="Also replay this version's gate decision and compare it with the stored one."),
    ] = None,
    repair: Annotated[
        bool, typer.Option("--repair", help="Move @champion back to the last champion whose chain verifies.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Repair without asking (scripts).")] = False,
    by: ByOpt = None,
    env: EnvOpt = None,
    model: ModelOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Walk the model's hash-chained history and flag missing or edited events, an @champion that disagrees
    with the chain, and approvals that do not verify. With VERSION, replay its gate decision. Exit 1 when
    anything is flagged."""
    from trunkml.release import audit as auditing

    settings = env_settings(env)
    if repair:
        found = auditing.audit(settings, model)
        if not yes:
            typer.confirm(
                f"move @champion of {found.model} in '{found.env}' from v{found.champion} back to "
                f"v{found.verified_champion}?",
                abort=True,
            )
        moved = auditing.repair(settings, acting(by, settings.actor), model)
        if json_:
            print_json(moved)
            return
        out.print(f"[yellow]repaired[/] @champion v{moved.previous} → v{moved.version} (event #{moved.event.seq})")
        return
    if version is None:
        report = auditing.audit(settings, model)
    else:
        with PhaseProgress("replaying the decision") as progress:
            report = auditing.audit_version(settings, version, progress.phase, model)
    if json_:
        print_json(report.model_dump(mode="json") | {"ok": report.ok})
    else:
        _render(report)
    if not report.ok:
        raise typer.Exit(EXIT_REFUSED)


def _render(report: AuditReport) -> None:
    verdict = "[green]intact[/]" if report.ok else f"[red]{len(report.findings)} problem(s)[/]"
    champion = f"v{report.champion}" if report.champion is not None else "none"
    out.print(
        f"[bold]{report.model}[/] in '{report.env}': {report.events} event(s) in the chain, @champion {champion}, "
        f"last verified champion v{report.verified_champion}: {verdict}"
    )
    if report.legacy_events:
        out.print(f"  {report.legacy_events} event(s) from before the history was a chain (not checked)")
    for finding in report.findings:
        out.print(f"  [red]✗[/] {finding.kind}: {finding.message}", highlight=False)
    replay = report.replay
    if replay is None:
        return
    decision = replay.replayed
    same = "[green]byte-identical to the stored decision[/]" if replay.identical else "[red]DIFFERS[/]"
    out.print(
        f"replayed v{replay.version} vs {('v' + str(replay.champion)) if replay.champion else 'no champion'} on "
        f"{replay.eval}: promote={decision.get('promote')} b={decision.get('b')} c={decision.get('c')} "
        f"p={decision.get('p_value')}: {same}"
    )
    for line in [*(g["reason"] for g in decision.get("guards", [])), *decision.get("reasons", [])][:12]:
        out.print(f"  • {line}", highlight=False)
    for piece in decision.get("slices", []):
        verdict = "FAILS" if piece.get("flagged") else "holds" if piece.get("checked") else "reported only"
        out.print(f"  slice {piece.get('name')}: {verdict}", highlight=False)
    for difference in replay.differences[:10]:
        out.print(f"  [red]≠[/] {difference}", highlight=False)
