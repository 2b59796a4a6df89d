"""Batch scoring on Spark: a verified registered model applied with ``mlflow.pyfunc.spark_udf``.

The model's files are downloaded and checked against the digests recorded at registration
first; Spark then loads that verified copy on its executors (``env_manager="local"``: the
executors use this environment, as the local engine does).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import mlflow
import pandas as pd

from trunkml.errors import UnavailableError
from trunkml.registry.artifacts import verify_model_files
from trunkml.registry.connection import Registry

RESULT_TYPE = "label long, score double"


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


def spark_score(
    registry: Registry, frame: pd.DataFrame, identity: tuple[str, int, str], output: Path, master: str
) -> int:
    """Score ``frame`` (``text``) on a Spark session at ``master``; write a Parquet folder at ``output``."""
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as f

    name, version, digest = identity
    scratch = Path(tempfile.mkdtemp(prefix="trunkml-spark-"))
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
        shutil.rmtree(scratch, ignore_errors=True)
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise UnavailableError(
            f"Spark did not start at {master}: {first}",
            hint="the spark engine needs a Java 17+ runtime (JAVA_HOME) and a reachable master; or use --engine local",
        ) from exc
    try:
        with warnings.catch_warnings():
            # PySpark warns about pandas >= 3 in general; what runs here (a two-column frame in, a struct out)
            # is covered by the test that compares Spark with the local engine row for row.
            warnings.filterwarnings(
                "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
            )
            local, _ = verify_model_files(registry, name, version, scratch)
            udf = mlflow.pyfunc.spark_udf(spark, model_uri=str(local), result_type=RESULT_TYPE, env_manager="local")
            rows = frame.assign(row_id=range(len(frame)))[["row_id", "text"]]
            scored = (
                spark.createDataFrame(rows)
                .withColumn("prediction", udf(f.struct(f.col("text"))))
                .select(
                    "row_id",
                    f.col("prediction.label").alias("label"),
                    f.col("prediction.score").alias("score"),
                    f.lit(name).alias("model"),
                    f.lit(version).alias("version"),
                    f.lit(digest).alias("input_sha256"),
                )
            )
            scored.write.mode("errorifexists").parquet(str(output))
            return int(spark.read.parquet(str(output)).count())
    finally:
        spark.stop()
        shutil.rmtree(scratch, ignore_errors=True)
