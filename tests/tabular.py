"""A tabular binary project made with `trunkml init`, trained by CT and promoted by CD, once per test worker.

Its data is scikit-learn's bundled breast-cancer set (a real dataset inside the scikit-learn wheel,
so nothing is downloaded), with three columns added so every feature type and option is exercised:
a categorical ``size``, a boolean ``smooth`` and an identifier ``patient`` that is excluded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.training.conftest import commit_all, git
from trunkml.demo.tabular_story import cancer_frame

MODEL = "tumours"


def run_trunkml(
    root: Path, *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess, in ``root``, with no TRUNKML_/MLFLOW_ variables from this process."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TRUNKML_", "MLFLOW_"))}
    done = subprocess.run([sys.executable, "-m", "trunkml", *args], cwd=root,
                          env={**clean, "TRUNKML_PROJECT": str(root), **(env or {})},
                          capture_output=True, text=True, timeout=900)  # fmt: skip
    if check:
        assert done.returncode == 0, f"trunkml {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done


@dataclass(frozen=True)
class TabularProject:
    """The promoted project and what its pipelines printed."""

    root: Path
    pipeline_results: list[dict[str, Any]]

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_trunkml(self.root, *args, check=check)

    def eval_records(self) -> list[dict[str, Any]]:
        """The frozen eval set's rows as /predict records (features only), read through trunkml itself."""
        from trunkml.config import Settings
        from trunkml.datasets import DataService
        from trunkml.datasets.schema import json_records

        settings = Settings(project=self.root)
        return json_records(DataService(settings).load(f"{MODEL}-eval").features())


def build_tabular_project(root: Path) -> TabularProject:
    """init → data add → split → commit → pipeline run (workspace-cd, model-ct, model-cd)."""
    run_trunkml(root.parent, "init", str(root), "--model", MODEL)
    with (root / "trunkml.yaml").open("a", encoding="utf-8") as project_file:
        project_file.write("monitoring:\n  min_rows: 100  # the held-out set has about 114 rows\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.org")
    git(root, "config", "user.name", "Dev")
    commit_all(root, "A: trunkml init")
    base = git(root, "rev-parse", "HEAD")
    (root / "data").mkdir()
    cancer_frame().to_csv(root / "data" / "cancer.csv", index=False)
    run_trunkml(root, "data", "add", MODEL, "--file", "data/cancer.csv", "--target", "diagnosis",
                "--positive", "malignant", "--exclude", "patient")  # fmt: skip
    run_trunkml(root, "data", "split", MODEL, "--add", MODEL)
    commit_all(root, "B: the breast-cancer data")
    done = run_trunkml(root, "pipeline", "run", "--base", base, "--by", "ci-bot", "--json")
    return TabularProject(root, json.loads(done.stdout)["results"])
