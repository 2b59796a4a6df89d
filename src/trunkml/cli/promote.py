"""``trunkml promote``: move @champion to a version, in one registry or across two."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from trunkml.cli.options import ByOpt, EnvOpt, JsonOpt, ModelOpt, acting, env_settings
from trunkml.cli.output import out, print_json
from trunkml.errors import UsageError


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
    from trunkml.release.crossenv import promote_across
    from trunkml.release.promotion import promote

    if (source is None) != (target is None):
        raise UsageError("--from and --to go together", hint="e.g. trunkml promote 7 --from dev --to prod")
    settings = env_settings(env)
    actor = acting(by, settings.actor)
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
