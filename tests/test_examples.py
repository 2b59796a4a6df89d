"""The examples stay what `trunkml init` renders, so they show the current templates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from tests.conftest import REPO_ROOT
from trunkml.scaffold.render import plan

EXAMPLE = REPO_ROOT / "examples" / "breast-cancer"
OWN = {"README.md", "prepare_data.py"}  # the example's own files; everything else is rendered


def test_the_breast_cancer_example_is_the_rendered_tabular_project() -> None:
    _, _, planned = plan(EXAMPLE, "breast-cancer", "tabular")
    committed = {
        path.relative_to(EXAMPLE).as_posix()
        for path in EXAMPLE.rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and path.parts[len(EXAMPLE.parts)] not in ("data", ".trunkml")
    }
    assert committed - OWN == set(planned) - OWN
    stale = [
        path
        for path, text in planned.items()
        if path not in OWN and (EXAMPLE / path).read_text(encoding="utf-8") != text
    ]
    assert stale == [], "re-render the example with `trunkml init` (see its README)"


def test_its_data_script_writes_the_documented_columns(tmp_path: Path) -> None:
    copy = tmp_path / "breast-cancer"
    copy.mkdir()
    (copy / "prepare_data.py").write_bytes((EXAMPLE / "prepare_data.py").read_bytes())
    subprocess.run([sys.executable, str(copy / "prepare_data.py")], check=True, capture_output=True, timeout=120)
    frame = pd.read_csv(copy / "data" / "breast-cancer.csv")
    assert len(frame) == 569
    assert {"patient", "diagnosis", "size", "smooth", "mean radius"} <= set(frame.columns)
    assert set(frame["diagnosis"]) == {"malignant", "benign"}
