"""``trunkml demo``: the trunk-based story, offline, driven by the pipelines."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table

from trunkml.cli.context import load_settings
from trunkml.cli.output import err, out, print_json


def demo(
    workdir: Annotated[Path | None, typer.Option(help="Workspace to (re)create (default: TRUNKML_HOME/demo).")] = None,
    data: Annotated[
        Literal["synthetic", "fortuna"],
        typer.Option(help="synthetic: SYNTHETIC DEMO DATA, generated; fortuna: the real dataset via the mirror."),
    ] = "synthetic",
    example: Annotated[
        Literal["text", "tabular"],
        typer.Option(help="text: the text classifier story; tabular: scikit-learn's breast-cancer data as records."),
    ] = "text",
    keep_serving: Annotated[
        bool, typer.Option("--keep-serving", help="Leave the server running at the end (stop it with SIGTERM).")
    ] = False,
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON document to stdout.")] = False,
) -> None:
    """Play the trunk-based story in a throw-away git workspace: three commits through the pipelines."""
    from trunkml.demo.story import run_demo  # loads MLflow: only when the demo runs

    settings = load_settings()
    target = workdir or settings.home_dir / "demo"

    def emit(step: str, detail: str) -> None:
        if json_:
            return
        if not step:
            out.rule(f"[bold]{detail}[/]", align="left")
        elif step.startswith("      "):  # a step inside a pipeline
            out.print(f"[dim]{step}[/]  {detail}", highlight=False)
        else:
            out.print(f"[bold cyan]▸ {step}[/]  {detail}", highlight=False)

    if not json_:
        what = "SYNTHETIC DEMO DATA, offline" if data == "synthetic" else "Fortuna 2019 through the mirror, offline"
        if example == "tabular":
            what = "scikit-learn's bundled breast-cancer data, offline"
        out.print(f"[magenta bold]trunkml demo[/] in {target} ({what})")
    with err.status("preparing the demo workspace", spinner="dots") as status:
        if example == "tabular":
            from trunkml.demo.tabular_story import run_tabular_demo

            report = run_tabular_demo(target, emit, lambda phase: status.update(phase), keep_serving=keep_serving)
        else:
            report = run_demo(
                target,
                settings.project_root,
                emit,
                lambda phase: status.update(phase),
                data=data,
                mirror=settings.mirror_dir,
                keep_serving=keep_serving,
            )
    if json_:
        print_json(report)
        return
    table = Table("step", "as expected", "what happened", title=f"demo summary ({report.seconds:.0f} s)")
    for step in report.steps:
        if step.name.startswith("  "):
            continue  # the pipelines of a run, already shown above
        table.add_row(step.name, "[green]yes[/]" if step.ok else "[red]no[/]", step.detail)
    out.print(table)
    if report.server_url:
        out.print(
            f"the server keeps serving at {report.server_url} (pid {report.server_pid}; stop it with "
            f"`kill {report.server_pid}`), workspace {report.workdir}"
        )
