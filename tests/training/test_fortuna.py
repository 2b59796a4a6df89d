"""CT on the real Fortuna 2019 data through the mirror: complete lineage and a sane quality floor."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import FORTUNA_SHA256, REPO_ROOT, Project
from tests.training.conftest import commit_all, git


@pytest.mark.slow
def test_ct_on_fortuna(make_project: Callable[..., Project], shared_data: Path) -> None:
    project = make_project(mirror=shared_data)
    root = project.root
    shutil.copy(REPO_ROOT / "trunkml.yaml", root / "trunkml.yaml")
    for folder in ("datasets", "jobs", "src/hatedetection"):
        shutil.copytree(REPO_ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (root / ".gitignore").write_text(".trunkml/\n__pycache__/\n", encoding="utf-8")
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.org")
    git(root, "config", "user.name", "Dev")
    sha = commit_all(root, "reference project")
    result = project.cli("ct", "hate-pt-speech", "--json")
    assert result.code == 0, result.stderr
    trained = result.json()
    assert trained["git_sha"] == sha
    assert trained["metrics"]["f1"] >= 0.65  # breakage floor; quality is measured by bench/quality.py
    assert trained["metrics"]["support_positive"] == pytest.approx(246, abs=5)
    shown = project.cli("models", "show", "@challenger", "--json").json()
    train_pointer = project.cli("data", "show", "fortuna-2019-train", "--json").json()
    assert shown["datasets"][0] == {
        "role": "train",
        "ref": "fortuna-2019-train@1",
        "sha256": train_pointer["sha256"],
        "rows": 4534,
    }
    assert train_pointer["source"].endswith(f"(sha256 {FORTUNA_SHA256})")
    gate = project.cli("evaluate", "--json")
    assert gate.code == 0, gate.stderr
    assert gate.json()["decision"]["mode"] == "cold_start"
    assert gate.json()["predictions"] == {"v1": "local cache"}
