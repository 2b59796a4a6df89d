"""``trunkml explain``: why a version gives a text its label, feature by feature."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.table import Table

from trunkml.cli.context import load_settings
from trunkml.cli.output import err, out, print_json

if TYPE_CHECKING:  # the registry loads MLflow: only when this command runs
    from trunkml.registry import ModelVersionRecord
    from trunkml.release.evidence import Explained


def _render_explained(record: ModelVersionRecord, explained: list[Explained]) -> None:
    for item in explained:
        e = item.explanation
        colour = "red" if item.label == 1 else "green"
        out.print(
            f"[bold]{record.ref}[/] label [bold {colour}]{item.label}[/] score {item.score:.3f}: {item.text[:120]!r}",
            highlight=False,
        )
        negative, positive = record.class_names
        columns = (f"toward {positive}", "weight", f"toward {negative}", "weight")
        table = Table(*columns, title=e.method, title_justify="left")
        for row in range(max(len(e.toward), len(e.against))):
            up = e.toward[row] if row < len(e.toward) else None
            down = e.against[row] if row < len(e.against) else None
            table.add_row(
                up.feature if up else "", f"{up.weight:+.4f}" if up else "",
                down.feature if down else "", f"{down.weight:+.4f}" if down else "",
            )  # fmt: skip
        out.print(table)
        if e.exact:
            out.print(f"  {e.output} {e.value:+.4f} = base {e.base:+.4f} + listed + the rest ({e.rest or 0:+.4f})")


def explain_command(
    ref: Annotated[str, typer.Argument(help="Version: @champion, @challenger, latest, N or sha:<prefix>.")],
    texts: Annotated[list[str], typer.Argument(help="Texts, or records as JSON objects, to explain.")],
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Model (default: trunkml.yaml).")] = None,  # noqa: UP045
    top: Annotated[int, typer.Option(help="How many contributions to show each way.")] = 8,
    json_: Annotated[bool, typer.Option("--json", help="Print the explanations as one JSON document.")] = False,
) -> None:
    """Why a version labels a text as it does: the words and n-grams that push it toward label 1 and away from it."""
    from trunkml.release.evidence import explain_version

    with err.status("loading the model", spinner="dots"):
        record, explained = explain_version(load_settings(), ref, texts, model, top)
    if json_:
        print_json(
            {
                "model": record.name,
                "version": record.version,
                "explanations": [
                    {"text": e.text, "label": e.label, "score": e.score, **e.explanation.model_dump()}
                    for e in explained
                ],
            }
        )
        return
    _render_explained(record, explained)
