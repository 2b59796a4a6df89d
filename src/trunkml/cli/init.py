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
    family: Annotated[
        Literal["sklearn", "tfidf", "transformer"],
        typer.Option(
            help="sklearn: TF-IDF + logistic regression, all of its code yours; tfidf: trunkml's TF-IDF family (word "
            "and character n-grams, a tuned threshold, explanations); transformer: a fine-tuned encoder."
        ),
    ] = "sklearn",
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON document to stdout.")] = False,
) -> None:
    """Scaffold a trunkml project: trunkml.yaml, datasets/, jobs/, environments/, endpoints/, a model, workflows."""
    from trunkml.scaffold.render import init_project

    done = init_project(directory, model, family)
    if json_:
        print_json(done)
        return
    out.print(f"created a trunkml project for [bold]{done.model}[/] ({done.family}) in {done.root}:")
    for path in done.files:
        out.print(f"  {path}")
    out.print(
        "next: `trunkml data add "
        f"{done.model} --file DATA.csv --text-column text --label-column label`, "
        f"`trunkml data split {done.model} --add {done.model}`, commit, then `trunkml pipeline run --base HEAD~1`"
    )
