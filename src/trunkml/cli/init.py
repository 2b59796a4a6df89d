"""``trunkml init``: scaffold a project for a team's own model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from trunkml.cli.output import out, print_json


def init_command(
    directory: Annotated[Path, typer.Argument(help="Folder for the new project (created if missing).")] = Path(),
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Registered model name (default: from the folder's name).")
    ] = None,
    inputs: Annotated[
        Literal["tabular", "text"],
        typer.Option(
            help="tabular: a scikit-learn pipeline over any columns (logged with mlflow.sklearn, skops); "
            "text: TF-IDF + logistic regression over one text column."
        ),
    ] = "tabular",
    family: Annotated[
        Literal["tabular", "sklearn", "tfidf", "transformer"] | None,
        typer.Option(
            help="Instead of --inputs: sklearn (text, all of its code yours), tfidf (trunkml's TF-IDF family: word "
            "and character n-grams, a tuned threshold, explanations), transformer (a fine-tuned encoder), tabular."
        ),
    ] = None,
    task: Annotated[
        Literal["binary", "multiclass", "regression"],
        typer.Option(help="The target: binary, multiclass (3+ classes) or regression (a number); sets the gate."),
    ] = "binary",
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON document to stdout.")] = False,
) -> None:
    """Scaffold a trunkml project: trunkml.yaml, datasets/, jobs/, environments/, endpoints/, a model, workflows."""
    from trunkml.scaffold.render import init_project

    done = init_project(directory, model, family or ("tabular" if inputs == "tabular" else "sklearn"), task)
    if json_:
        print_json(done)
        return
    out.print(f"created a trunkml project for [bold]{done.model}[/] ({done.family}) in {done.root}:")
    for path in done.files:
        out.print(f"  {path}")
    columns = "--target COLUMN" if done.family == "tabular" else "--text-column text --label-column label"
    columns += f" --task {task}" if task != "binary" else ""
    out.print(
        "next: `trunkml data add "
        f"{done.model} --file DATA.csv {columns}`, "
        f"`trunkml data split {done.model} --add {done.model}`, commit, then `trunkml pipeline run --base HEAD~1`"
    )
