"""`trunkml score`: batch predictions of a registered version over a dataset or a file.

Two engines produce the same rows:

* ``local`` loads the verified model once and predicts in chunks, writing as it goes;
* ``spark`` ships the same verified model folder to a Spark session's executors
  (``local[2]`` by default, a cluster URL in production), which load it with trunkml's own
  loader and score their partitions (``mapInPandas``).

A file is read for the model's features, typed and validated as a dataset is (every missing
column listed, a wrong value named with its row); a one-text model reads ``--text-column``.

The output holds, per input row, its ``row_id`` (position in the input), the predicted
``label`` and ``score``, the ``model`` and ``version`` that answered and the sha256 of the
input (the dataset version's digest, or the file's). CSV or Parquet, by the output's suffix.
Results are written beside the output and moved into place only when complete, so a failed or
interrupted run leaves any earlier output as it was; an existing output is replaced only with
``overwrite``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from trunkml.config import Settings, resolve_model
from trunkml.datasets import DataService
from trunkml.datasets.hashing import hash_file
from trunkml.datasets.pointer import DataFormat
from trunkml.datasets.schema import DataSchema
from trunkml.datasets.validation import features_to_score
from trunkml.errors import NotFoundError, RefusedError, UsageError
from trunkml.registry import Registry, show
from trunkml.registry.artifacts import VerifiedModel
from trunkml.registry.model_inputs import answer_columns

Engine = Literal["local", "spark"]
Progress = Callable[[int, int], None]
OUTPUT_SUFFIXES = (".csv", ".parquet")
FILE_FORMATS = {".csv": DataFormat.CSV, ".parquet": DataFormat.PARQUET, ".jsonl": DataFormat.JSONL}


class ScoreRequest(BaseModel):
    """What to score: a model ref, an input (dataset pointer or file), where to write, and how."""

    model_config = ConfigDict(frozen=True)

    ref: str
    input: str
    output: Path
    engine: Engine = "local"
    model: str | None = None
    chunk_rows: int = Field(default=10_000, gt=0, le=10_000_000)
    spark_master: str = "local[2]"
    text_column: str = "text"
    overwrite: bool = False


class ScoreResult(BaseModel):
    """What was written."""

    model_config = ConfigDict(frozen=True)

    model: str
    version: int
    engine: Engine
    rows: int
    input_sha256: str
    output: str
    seconds: float


def _input_frame(settings: Settings, request: ScoreRequest, schema: DataSchema | None) -> tuple[pd.DataFrame, str]:
    """The input's rows (verified, for a dataset pointer) and its sha256.

    A file is read for the model's features (``schema``, recorded with the model), typed and validated as a
    dataset is; for a one-text model, its ``--text-column``.
    """
    path = Path(request.input)
    if path.suffix in FILE_FORMATS or path.is_file():
        if not path.is_file():
            raise NotFoundError(f"input file not found: {path}")
        if schema is not None and schema.single_text is None:
            fmt = FILE_FORMATS.get(path.suffix)
            if fmt is None:
                raise UsageError(f"{path}: score files must be {', '.join(FILE_FORMATS)}")
            return features_to_score(path.read_bytes(), fmt, schema, str(path)), hash_file(path)[0]
        frame = (
            pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype=str, keep_default_na=False)
        )
        if request.text_column not in frame.columns:
            raise UsageError(
                f"{path} has no column '{request.text_column}' (columns: {', '.join(map(str, frame.columns))})",
                hint="pass --text-column",
            )
        return frame[[request.text_column]].rename(columns={request.text_column: "text"}), hash_file(path)[0]
    loaded = DataService(settings).load(request.input)
    return loaded.features(), loaded.pointer.sha256


COLUMNS = ("row_id", "label", "score", "model", "version", "input_sha256")


def _check_output(output: Path, overwrite: bool) -> None:
    if output.suffix not in OUTPUT_SUFFIXES:
        raise UsageError(f"output {output} must end in .csv or .parquet")
    if output.exists() and not overwrite:
        raise UsageError(f"output {output} already exists", hint="pass --overwrite to replace it, or name another")
    output.parent.mkdir(parents=True, exist_ok=True)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()


def _publish(partial: Path, output: Path) -> None:
    """Move the finished ``partial`` (file or Parquet folder) to ``output``, replacing what was there."""
    if output.exists() and (output.is_dir() or partial.is_dir()):  # not replaceable in one step: move it aside
        aside = output.with_name(f".{output.name}.old-{uuid.uuid4().hex[:8]}")
        output.rename(aside)
        partial.rename(output)
        _remove(aside)
    else:
        os.replace(partial, output)


def _chunks(frame: pd.DataFrame, size: int) -> Iterator[tuple[int, pd.DataFrame]]:
    for start in range(0, len(frame), size):
        yield start, frame.iloc[start : start + size]


def _write(output: Path, frames: Iterator[pd.DataFrame]) -> int:
    """Write chunks as they come (Parquet through one writer, CSV appended); return the rows written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows, writer, index = 0, None, -1
    try:
        for index, frame in enumerate(frames):
            rows += len(frame)
            if output.suffix == ".parquet":
                table = pa.Table.from_pandas(frame, preserve_index=False)
                writer = writer or pq.ParquetWriter(output, table.schema)
                writer.write_table(table)
            else:
                frame.to_csv(output, mode="w" if index == 0 else "a", header=index == 0, index=False)
        if index < 0:  # no rows: still a valid, empty table with the columns
            empty = pd.DataFrame({column: pd.Series(dtype="object") for column in COLUMNS})
            if output.suffix == ".parquet":
                empty.to_parquet(output, index=False)
            else:
                empty.to_csv(output, index=False)
    finally:
        if writer is not None:
            writer.close()
    return rows


def score_local(
    model: VerifiedModel,
    frame: pd.DataFrame,
    request: ScoreRequest,
    identity: tuple[str, int, str],
    progress: Progress,
    class_list: tuple[str, ...] = (),
) -> int:
    """Predict ``frame`` chunk by chunk with the verified model and write the rows (columns per task)."""
    name, version, digest = identity

    def scored() -> Iterator[pd.DataFrame]:
        for start, chunk in _chunks(frame, request.chunk_rows):
            rows = chunk["text"].astype(str).tolist() if list(chunk.columns) == ["text"] else chunk
            answers = model.answer(rows)
            problem = answers.problem(len(class_list) if answers.task == "multiclass" and class_list else None)
            if problem:  # what the server would refuse to send is not written either
                raise RefusedError(
                    f"{name} v{version} cannot be trusted on rows {start}-{start + len(chunk) - 1}: {problem}"
                )
            answered = answer_columns(answers, class_list)
            yield pd.DataFrame({
                "row_id": range(start, start + len(chunk)), **answered, "model": name, "version": version,
                "input_sha256": digest,
            })  # fmt: skip
            progress(start + len(chunk), len(frame))

    return _write(_partial(request.output), scored())


def _partial(output: Path) -> Path:
    """Where a run writes before its output is complete: beside it, hidden, one per process."""
    return output.with_name(f".{output.stem}.partial-{os.getpid()}{output.suffix}")


def _score_spark(model: VerifiedModel, frame: pd.DataFrame, identity: tuple[str, int, str], request: ScoreRequest,
                 partial: Path, class_list: tuple[str, ...]) -> int:  # fmt: skip
    if request.output.suffix != ".parquet":
        raise UsageError("--engine spark writes Parquet (a folder of part files): name the output *.parquet")
    try:
        from trunkml.registry.sparkscore import spark_score
    except ImportError as exc:
        raise UsageError(
            f"the spark engine needs PySpark ({exc.name or exc} is not installed)",
            hint="pip install 'trunkml[spark]' (and a Java 17+ runtime), or use --engine local",
        ) from exc
    task = str((model.schema or {}).get("task", "binary"))
    return spark_score(model.folder, frame, identity, partial, request.spark_master, (task, class_list))


def run_score(settings: Settings, request: ScoreRequest, progress: Progress = lambda done, total: None) -> ScoreResult:
    """Score ``request.input`` with the version ``request.ref`` names, on the chosen engine."""
    import time

    started = time.perf_counter()
    _check_output(request.output, request.overwrite)
    name = resolve_model(settings, request.model)
    registry = Registry(settings)
    record = show(registry, name, request.ref)
    version, class_list = record.version, record.class_list
    model = VerifiedModel(registry, name, version)
    partial = _partial(request.output)
    try:
        recorded = model.schema
        frame, digest = _input_frame(settings, request, DataSchema.model_validate(recorded) if recorded else None)
        identity = (name, version, digest)
        if request.engine == "spark":
            rows = _score_spark(model, frame, identity, request, partial, class_list)
        else:
            rows = score_local(model, frame, request, identity, progress, class_list)
        _publish(partial, request.output)
    finally:
        model.close()
        _remove(partial)
    return ScoreResult(
        model=name, version=version, engine=request.engine, rows=rows, input_sha256=digest,
        output=str(request.output), seconds=time.perf_counter() - started,
    )  # fmt: skip
