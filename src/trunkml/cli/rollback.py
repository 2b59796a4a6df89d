"""``trunkml rollback``: return @champion to a former champion, with the reason in the history."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from trunkml.cli.options import ByOpt, EnvOpt, JsonOpt, ModelOpt, acting, env_settings
from trunkml.cli.output import out, print_json


def rollback_command(
    to: Annotated[Optional[str], typer.Option("--to", help="Version to return to.")] = None,  # noqa: UP045
    reason: Annotated[str, typer.Option(help="Why.")] = "",
    by: ByOpt = None,
    env: EnvOpt = None,
    model: ModelOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Return @champion to the previous champion (from history) or --to a former champion; no fresh gate needed."""
    from trunkml.release.promotion import rollback

    settings = env_settings(env)
    result = rollback(settings, acting(by, settings.actor), to, reason, model)
    if json_:
        print_json(result)
        return
    out.print(
        f"[yellow]rolled back[/] {result.model} @champion v{result.previous} → v{result.version} in '{result.env}'"
    )
    for note in result.notes:
        out.print(f"  {note}")
