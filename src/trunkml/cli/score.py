"""``trunkml score``: batch predictions of a registered version, locally or on Spark."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from trunkml.cli.context import load_settings
from trunkml.cli.output import PhaseProgress, out, print_json


def score_command(
    ref: Annotated[str, typer.Argument(help="Version to score with: @champion, latest, N or sha:<prefix>.")],
    input_: Annotated[str, typer.Option("--input", help="A dataset pointer (NAME[@N]) or a .csv/.parquet file.")],
    output: Annotated[Path, typer.Option(help="Where to write: .parquet or .csv (spark: .parquet folder).")],
    engine: Annotated[
        Literal["local", "spark"], typer.Option(help="local (chunked) or spark (executors score partitions).")
    ] = "local",
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Registered model (default: trunkml.yaml).")
    ] = None,
    chunk_rows: Annotated[int, typer.Option(help="Rows per model call in local mode.")] = 10_000,
    spark_master: Annotated[str, typer.Option(help="Spark master URL (spark engine).")] = "local[2]",
    text_column: Annotated[str, typer.Option(help="The text column of an input file.")] = "text",
    overwrite: Annotated[
        bool, typer.Option(help="Replace an existing output (only once the new one is complete).")
    ] = False,
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON document to stdout.")] = False,
) -> None:
    """Score a dataset or file with a registered version; rows keep their position, the model and the input digest."""
    from trunkml.serving.scoring import ScoreRequest, run_score

    request = ScoreRequest(
        ref=ref, input=input_, output=output, engine=engine, model=model, chunk_rows=chunk_rows,
        spark_master=spark_master, text_column=text_column, overwrite=overwrite,
    )  # fmt: skip
    with PhaseProgress("loading the verified model and the input") as progress:
        result = run_score(load_settings(), request, lambda done, total: progress.steps("scoring", done, total))
    if json_:
        print_json(result)
        return
    out.print(
        f"{result.rows:,} rows scored by {result.model} v{result.version} ({result.engine}) in {result.seconds:.1f} s "
        f"→ {result.output} (input sha256 {result.input_sha256[:12]}…)"
    )
