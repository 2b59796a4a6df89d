"""``trunkml demo``: the offline trunk-based story on synthetic demo data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from trunkml.cli.context import load_settings
from trunkml.cli.output import err, out, print_json


def demo(
    workdir: Annotated[Path | None, typer.Option(help="Workspace to (re)create (default: TRUNKML_HOME/demo).")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON document to stdout.")] = False,
) -> None:
    """Run the trunk-based story offline on SYNTHETIC DEMO DATA in a throw-away workspace."""
    from trunkml.pipelines.demo import run_demo  # loads MLflow: only when the demo runs

    settings = load_settings()
    target = workdir or settings.home_dir / "demo"

    def emit(step: str, detail: str) -> None:
        if not json_:
            out.print(f"[bold cyan]▸ {step}[/]  {detail}", highlight=False)

    if not json_:
        out.print(f"[magenta bold]trunkml demo[/] in {target} (SYNTHETIC DEMO DATA, offline)")
    with err.status("preparing the demo workspace", spinner="dots") as status:
        report = run_demo(target, settings.project_root, emit, lambda phase: status.update(phase))
    if json_:
        print_json(report)
        return
    table = Table("step", "as expected", "what happened", title="demo summary")
    for step in report.steps:
        table.add_row(step.name, "[green]yes[/]" if step.ok else "[red]no[/]", step.detail)
    out.print(table)
