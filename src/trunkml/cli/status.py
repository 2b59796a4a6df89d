"""``trunkml status``: champion, challenger, the pending decision and approvals, the last events."""

from __future__ import annotations

from trunkml.cli.history import events_table
from trunkml.cli.options import EnvOpt, JsonOpt, ModelOpt, env_settings
from trunkml.cli.output import out, print_json


def status_command(env: EnvOpt = None, model: ModelOpt = None, json_: JsonOpt = False) -> None:
    """Champion and challenger (versions, commits), the pending decision and approvals, the last events."""
    from trunkml.release.promotion import status

    result = status(env_settings(env), model)
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
    for problem in result.champion_unverified:
        out.print(f"  [red]champion not verified[/]: {problem}", highlight=False)
    if result.champion_unverified:
        out.print("  run `trunkml audit` for details, `trunkml audit --repair` to restore the last verified champion")
    if result.events:
        out.print(events_table(result.events, "last events"))
