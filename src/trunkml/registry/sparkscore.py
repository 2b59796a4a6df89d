"""Batch scoring on Spark: a verified registered model applied to each partition.

The model's files were downloaded and checked against the digests recorded at registration
first. That folder is shipped to the executors (``SparkContext.addFile``), and each loads it
with trunkml's own loader, which unpickles nothing, and scores its partitions
(``mapInPandas``). MLflow's ``spark_udf`` would load through ``mlflow.pyfunc``, which
refuses skops models once pickles are forbidden, and reads one column struct, not records.
The executors use this environment (trunkml installed), as the local engine does.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from trunkml.errors import UnavailableError

RESULT_TYPE = "row_id long, label long, score double"


def result_type(task: str, class_list: tuple[str, ...]) -> str:
    """The Spark schema of the scored rows, per task (see ``model_inputs.answer_columns``).

    A regression result always has ``lower``/``upper`` (null when the model answers no quantiles): a Spark
    schema is fixed before the first partition is scored.
    """
    if task == "regression":
        return "row_id long, prediction double, lower double, upper double"
    if task == "multiclass":
        quoted = ", ".join(f"`p_{name.replace('`', '``')}` double" for name in class_list)
        return f"row_id long, label long, `class` string, score double{', ' + quoted if quoted else ''}"
    return RESULT_TYPE


@contextmanager
def _worker_python(python: str | None) -> Iterator[None]:
    """PySpark reads its workers' interpreter from PYSPARK_PYTHON when the context starts; set it only for that."""
    before = os.environ.get("PYSPARK_PYTHON")
    if python is not None:
        os.environ["PYSPARK_PYTHON"] = python
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PYSPARK_PYTHON", None)
        else:
            os.environ["PYSPARK_PYTHON"] = before


def _scorer(
    folder_name: str, task: str, class_list: tuple[str, ...]
) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    """What each executor runs on its partitions: load the shipped model once, then predict batch by batch."""

    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from pyspark import SparkFiles

        from trunkml.registry.loading import load_verified
        from trunkml.registry.model_inputs import answer_columns, predict_answers

        model = load_verified(Path(SparkFiles.get(folder_name)))
        for batch in batches:
            answers = predict_answers(model, batch.drop(columns=["row_id"]).reset_index(drop=True))
            columns = answer_columns(answers, class_list)
            if task == "regression":
                columns.setdefault("lower", None)
                columns.setdefault("upper", None)
            yield pd.DataFrame({"row_id": batch["row_id"].to_numpy(), **columns})

    return score


def spark_score(
    folder: Path, frame: pd.DataFrame, identity: tuple[str, int, str], output: Path, master: str,
    task: tuple[str, tuple[str, ...]] = ("binary", ()),
) -> int:  # fmt: skip
    """Score ``frame`` (the model's inputs) with the verified model ``folder`` on Spark; write Parquet at ``output``."""
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as f

    name, version, digest = identity
    builder = SparkSession.builder.master(master).appName(f"trunkml score {name} v{version}")
    if master.startswith("local"):
        # Local workers run this interpreter and talk over loopback; a cluster brings its own Python and needs
        # a driver address its executors can reach.
        builder = builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
    try:
        with _worker_python(sys.executable if master.startswith("local") else None):
            spark = (
                builder.config("spark.ui.enabled", "false")
                .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                .getOrCreate()
            )
    except Exception as exc:  # no Java, or a cluster that does not answer
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise UnavailableError(
            f"Spark did not start at {master}: {first}",
            hint="the spark engine needs a Java 17+ runtime (JAVA_HOME) and a reachable master; or use --engine local",
        ) from exc
    try:
        with warnings.catch_warnings():
            # PySpark warns about pandas >= 3 in general; what runs here is covered by the tests that compare
            # Spark with the local engine row for row, for a text and a tabular model.
            warnings.filterwarnings(
                "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
            )
            spark.sparkContext.addFile(str(folder), recursive=True)
            rows = spark.createDataFrame(frame.assign(row_id=range(len(frame))))
            scored = (
                rows.mapInPandas(_scorer(folder.name, *task), schema=result_type(*task))
                .withColumn("model", f.lit(name))
                .withColumn("version", f.lit(version))
                .withColumn("input_sha256", f.lit(digest))
            )
            scored.write.mode("errorifexists").parquet(str(output))
            return int(spark.read.parquet(str(output)).count())
    finally:
        spark.stop()
