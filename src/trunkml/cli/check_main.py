"""``trunkml check-main``: every model-changing commit on main has exactly one version."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from trunkml.cli.context import load_settings
from trunkml.cli.output import out, print_json
from trunkml.errors import EXIT_REFUSED


def check_main_command(
    job: Annotated[Optional[str], typer.Option(help="Job (default: 'model' in trunkml.yaml).")] = None,  # noqa: UP045
    rev: Annotated[str, typer.Option(help="Revision whose first-parent history is checked.")] = "main",
    since: Annotated[Optional[str], typer.Option(help="Only commits after this revision.")] = None,  # noqa: UP045
    backfill: Annotated[bool, typer.Option("--backfill", help="Print the CT commands that fill the gaps.")] = False,
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON document to stdout.")] = False,
) -> None:
    """Verify main is always deployable: exit 1 lists commits without exactly one registered version."""
    from trunkml.config import resolve_model
    from trunkml.pipelines.checkmain import check_main

    settings = load_settings()
    result = check_main(settings, job or resolve_model(settings, None), rev, since)
    if json_:
        print_json({**result.model_dump(), "ok": result.ok})
    else:
        verdict = "[green]ok[/]" if result.ok else f"[red]{len(result.gaps)} gap(s)[/]"
        out.print(
            f"check-main {result.rev}: {verdict}, {result.commits_checked} commit(s) touch {', '.join(result.paths)}"
        )
        for gap in result.gaps:
            out.print(
                f"  {gap.sha[:10]} {gap.subject!r}: "
                + (f"{len(gap.versions)} versions {gap.versions}" if gap.versions else "no version")
            )
        for item in result.off_main:
            out.print(
                f"  [yellow]flag[/] version {item['version']} ({item['kind']}) was trained at "
                f"{str(item['git_sha'])[:10]}, which is not on {result.rev}"
            )
        for command in result.backfill if backfill else []:
            out.print(f"  {command}", highlight=False)
    if not result.ok:
        raise typer.Exit(EXIT_REFUSED)
