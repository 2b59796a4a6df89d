"""The repository itself: committed pointers are valid, and no secret sits in any YAML file."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.conftest import REPO_ROOT
from trunkml.datasets.catalog import Catalog

SECRET_KEY = re.compile(r"(password|passwd|secret|token|api[_-]?key|access[_-]?key)\s*:\s*(\S+)", re.IGNORECASE)


def tracked(*patterns: str) -> list[str]:
    try:
        done = subprocess.run(["git", "ls-files", *patterns], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [line for line in done.stdout.splitlines() if line]


def test_committed_pointers_are_valid_and_attributed() -> None:
    pointers = {p.name: p for p in Catalog(REPO_ROOT / "datasets").current()}
    assert set(pointers) >= {"fortuna-2019", "hatebr", "fortuna-2019-train", "fortuna-2019-eval"}
    for pointer in pointers.values():
        assert not pointer.synthetic
        assert pointer.uri.startswith(("https://", f"split:{pointers['fortuna-2019'].ref}?"))
        assert pointer.source
        assert pointer.license


def test_the_reference_job_trains_and_gates_on_the_frozen_split() -> None:
    from trunkml.config import load_project
    from trunkml.training.jobspec import load_job

    job = load_job(REPO_ROOT, "hate-pt-speech")
    assert job.spec.inputs == {"train": "fortuna-2019-train", "eval": "fortuna-2019-eval"}
    assert load_project(REPO_ROOT).gate.eval == job.spec.inputs["eval"]


def test_no_secrets_in_yaml() -> None:
    offenders = []
    for name in tracked("*.yaml", "*.yml"):
        for number, line in enumerate((REPO_ROOT / name).read_text(encoding="utf-8").splitlines(), start=1):
            match = SECRET_KEY.search(line)
            if match and not match.group(2).startswith(("${{", "$", "null", "~", "''", '""')):
                offenders.append(f"{name}:{number}")
    assert offenders == [], f"secrets belong in the environment, not YAML: {offenders}"


def test_no_data_files_are_committed() -> None:
    assert tracked("*.csv", "*.parquet", "*.jsonl", "*.tsv") == []
