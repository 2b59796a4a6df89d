"""CT on the real Fortuna 2019 data through the mirror: complete lineage, a sane quality floor, the slice report."""

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
    slices = {s["name"]: s for s in gate.json()["decision"]["slices"]}  # the target groups of the hierarchical file
    assert {"Sexism", "Homophobia", "Racism", "words <10", "words >=20"} <= set(slices)
    assert (slices["Sexism"]["rows"], slices["Sexism"]["positives"]) == (125, 125)
    assert 0.3 < slices["Sexism"]["challenger_recall"]["value"] <= 1.0
    markdown = Path(gate.json()["reports"]["markdown"]).read_text(encoding="utf-8")
    assert "### Slices" in markdown
    assert "| Homophobia | 68 | 68 |" in markdown
    assert "missed by the challenger in slice 'Racism'" in markdown
