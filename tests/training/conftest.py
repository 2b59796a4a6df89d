"""A trunk-based project in tmp_path: a git repo with the reference model, a job and demo data."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, Project

JOB = """\
model: demo-model
entrypoint: hatedetection.train:train
code_dir: src
inputs:
  train: demo
split:
  eval_fraction: 0.25
  seed: 3
params: params.yaml
"""
PARAMS = """\
C: 8.0
cv_folds: 2
threshold_objective: f1
precision_floor: 0.6
char_min_df: 1
"""
SLOW_ENTRY = """\
import os, time
from pathlib import Path
from hatedetection.train import train as real_train

def train(job):
    marker = os.environ.get("TEST_TRAINING_MARKER")
    if marker:
        Path(marker).write_text("training")
        time.sleep(120)
    return real_train(job)

def broken(job):
    raise RuntimeError("feature extraction exploded")
"""


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def commit_all(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-qm", message)
    return git(root, "rev-parse", "HEAD")


@pytest.fixture
def ml_project(make_project: Callable[..., Project]) -> Project:
    """A committed project: reference model code, jobs/demo-model, a 600-row synthetic dataset."""
    project = make_project()
    root = project.root
    shutil.copytree(
        REPO_ROOT / "src" / "hatedetection",
        root / "src" / "hatedetection",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (root / "src" / "testhooks.py").write_text(SLOW_ENTRY, encoding="utf-8")
    (root / "jobs" / "demo-model").mkdir(parents=True)
    (root / "jobs" / "demo-model" / "train.yaml").write_text(JOB, encoding="utf-8")
    (root / "jobs" / "demo-model" / "params.yaml").write_text(PARAMS, encoding="utf-8")
    (root / ".gitignore").write_text(".trunkml/\n__pycache__/\n", encoding="utf-8")
    # The classes are named as a team would name them; reports and explanations use these names.
    named = ("--class-name", "0=not hate", "--class-name", "1=hate")
    assert project.cli("data", "synth", "--rows", "600", "--seed", "5", "--add", "demo", *named).code == 0
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.org")
    git(root, "config", "user.name", "Dev")
    commit_all(root, "project A")
    return project
