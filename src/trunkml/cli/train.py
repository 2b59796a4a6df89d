"""``trunkml train``: train a job, with overrides for experiments, and register one model version."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from trunkml.cli.context import load_settings
from trunkml.cli.output import PhaseProgress, out, print_json

if TYPE_CHECKING:  # MLflow loads only when a training command runs (1.5 s of start-up otherwise)
    from trunkml.training.trainer import TrainRequest, TrainResult

JobArg = Annotated[str, typer.Argument(help="Job name under jobs/ (e.g. churn) or a path to train.yaml.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document (run id, version, metrics).")]
SHOWN = ("precision", "recall", "f1", "macro_f1", "accuracy", "support_positive", "threshold")


def render(result: TrainResult) -> None:
    if result.reused:
        out.print(
            f"[yellow]unchanged[/] {result.model} version [bold]{result.version}[/] already holds this commit, "
            "job and data (CT is idempotent)"
        )
    else:
        out.print(
            f"[green]registered[/] {result.model} version [bold]{result.version}[/] (@challenger), "
            f"run {result.run_id}, {result.seconds:.1f} s"
        )
    table = Table("metric (eval)", "value")
    for key in SHOWN:
        if key in result.metrics:
            table.add_row(
                key, f"{result.metrics[key]:.4f}" if key != "support_positive" else f"{result.metrics[key]:.0f}"
            )
    out.print(table)
    for use in result.datasets:
        out.print(f"  {use.role}: {use.ref} sha256 {use.sha256[:12]} ({use.rows} rows)")


def execute(request: TrainRequest, json_: bool) -> None:
    from trunkml.training.trainer import train

    settings = load_settings()
    with PhaseProgress() as progress:
        result = train(settings, request, progress.phase, progress.steps)
    print_json(result) if json_ else render(result)


def train_command(
    job: JobArg,
    inputs: Annotated[
        list[str], typer.Option("--input", help="Override an input: NAME=DATASET[@V] (train, eval).")
    ] = [],  # noqa: B006
    params: Annotated[list[str], typer.Option("--param", help="Override a param: KEY=VALUE (YAML value).")] = [],  # noqa: B006
    json_: JsonOpt = False,
) -> None:
    """Train a job (overrides allowed, for experiments) and register a new version as @challenger."""
    from trunkml.training.trainer import TrainRequest

    execute(TrainRequest(job=job, inputs=inputs, params=params), json_)
