"""`trunkml score`: the local and Spark engines give the same predictions, row for row, on Fortuna."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import FORTUNA_SHA256
from tests.monitoring.conftest import MODEL, FortunaProject, fortuna_project  # noqa: F401 - fixture reuse
from trunkml.cli.main import run

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def java() -> None:
    """Spark needs a Java runtime (`make services` installs one)."""
    if shutil.which("java") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("no Java runtime: CI must run the Spark tests (run `make services`)")
        pytest.skip("no Java runtime for Spark (run `make services`)")


def score(project: FortunaProject, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
          *args: str) -> tuple[int, str, str]:  # fmt: skip
    for key, value in project.env().items():
        monkeypatch.setenv(key, value)
    capsys.readouterr()
    code = run(["score", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_spark_scoring_matches_local_scoring_row_for_row(
    fortuna_project: FortunaProject,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    local, spark = tmp_path / "local.parquet", tmp_path / "spark.parquet"
    code, out, err = score(fortuna_project, monkeypatch, capsys, "@champion", "--input", "fortuna-2019",
                           "--output", str(local), "--chunk-rows", "1000", "--json")  # fmt: skip
    assert code == 0, err
    first = json.loads(out)
    code, out, err = score(fortuna_project, monkeypatch, capsys, "@champion", "--input", "fortuna-2019",
                           "--output", str(spark), "--engine", "spark", "--json")  # fmt: skip
    assert code == 0, err
    second = json.loads(out)
    assert first["rows"] == second["rows"] == 5668
    assert first["input_sha256"] == second["input_sha256"] == FORTUNA_SHA256
    a = pd.read_parquet(local).sort_values("row_id").reset_index(drop=True)
    b = pd.read_parquet(spark).sort_values("row_id").reset_index(drop=True)
    assert a["row_id"].tolist() == list(range(5668))
    assert b["row_id"].tolist() == list(range(5668))
    assert (a["label"] == b["label"]).all()
    assert (a["score"] - b["score"]).abs().max() <= 1e-12
    assert set(a["model"]) == set(b["model"]) == {MODEL}
    assert set(a["version"]) == set(b["version"]) == {1}
    assert set(b["input_sha256"]) == {FORTUNA_SHA256}


def test_bad_inputs_and_outputs_are_usage_errors(
    fortuna_project: FortunaProject,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    code, _, err = score(fortuna_project, monkeypatch, capsys, "1", "--input", str(tmp_path / "nope.csv"),
                         "--output", str(tmp_path / "o.parquet"))  # fmt: skip
    assert code == 2
    assert "input file not found" in err
    (tmp_path / "in.csv").write_text("comment\nola\n", encoding="utf-8")
    code, _, err = score(fortuna_project, monkeypatch, capsys, "1", "--input", str(tmp_path / "in.csv"),
                         "--output", str(tmp_path / "o.parquet"))  # fmt: skip
    assert code == 2
    assert "has no column 'text' (columns: comment)" in err
    code, _, err = score(fortuna_project, monkeypatch, capsys, "1", "--input", str(tmp_path / "in.csv"),
                         "--output", str(tmp_path / "o.txt"), "--text-column", "comment")  # fmt: skip
    assert code == 2
    assert "must end in .csv or .parquet" in err
    spark_csv = ["--output", str(tmp_path / "o.csv"), "--engine", "spark", "--text-column", "comment"]
    code, _, err = score(fortuna_project, monkeypatch, capsys, "1", "--input", str(tmp_path / "in.csv"), *spark_csv)
    assert code == 2
    assert "--engine spark writes Parquet" in err
    code, _, err = score(fortuna_project, monkeypatch, capsys, "1", "--input", str(tmp_path / "in.csv"),
                         "--output", str(tmp_path / "o.csv"), "--text-column", "comment")  # fmt: skip
    assert code == 0, err
    written = pd.read_csv(tmp_path / "o.csv")
    assert written.columns.tolist() == ["row_id", "label", "score", "model", "version", "input_sha256"]
    assert len(written) == 1


def test_an_existing_output_is_replaced_only_on_request_and_only_by_a_complete_one(
    fortuna_project: FortunaProject,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    source, output = tmp_path / "in.csv", tmp_path / "scores.csv"
    source.write_text("text\nola mundo\nbom dia\n", encoding="utf-8")
    output.write_text("earlier results\n", encoding="utf-8")
    args = ["1", "--input", str(source), "--output", str(output)]
    code, _, err = score(fortuna_project, monkeypatch, capsys, *args)
    assert code == 2
    assert "already exists" in err
    assert "--overwrite" in err
    assert output.read_text(encoding="utf-8") == "earlier results\n"

    env = {**{k: v for k, v in os.environ.items() if k != "JAVA_HOME"}, **fortuna_project.env(),
           "JAVA_HOME": str(tmp_path / "no-java"), "PATH": os.path.dirname(sys.executable)}  # fmt: skip
    spark = [*args[:-1], str(tmp_path / "spark.parquet")]
    (tmp_path / "spark.parquet").mkdir()
    (tmp_path / "spark.parquet" / "part-0.parquet").write_bytes(b"earlier")
    failed = subprocess.run([sys.executable, "-m", "trunkml", "score", *spark, "--engine", "spark", "--overwrite"],
                            env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert failed.returncode == 3, failed.stdout + failed.stderr
    assert "Spark did not start" in failed.stderr
    assert "Java" in failed.stderr
    assert (tmp_path / "spark.parquet" / "part-0.parquet").read_bytes() == b"earlier"  # nothing lost
    assert [p.name for p in tmp_path.iterdir() if ".partial-" in p.name] == []  # nothing left half-written

    code, _, err = score(fortuna_project, monkeypatch, capsys, *args, "--overwrite")
    assert code == 0, err
    assert len(pd.read_csv(output)) == 2
    source.write_text("text\n", encoding="utf-8")  # no rows: an empty table with the columns, not the old file
    code, _, err = score(fortuna_project, monkeypatch, capsys, *args, "--overwrite")
    assert code == 0, err
    empty = pd.read_csv(output)
    assert empty.columns.tolist() == ["row_id", "label", "score", "model", "version", "input_sha256"]
    assert len(empty) == 0
