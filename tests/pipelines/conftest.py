"""A project whose story has a clear promotion: a weak v1, a strong v2 and a regressed v3."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable

import pytest

from tests.conftest import REPO_ROOT, Project

# These projects test approvals, alias moves and the pipelines' plumbing. Infra validation (a sandboxed
# server per version, tens of seconds each) has its own tests (tests/release: test_infravalidate and
# test_evidence; the demo and the scaffold test run it inside model-cd), so outside prod these projects
# switch it off.
PROJECT = """\
name: promo
model: promo-model
data:
  max_eval_overlap: 0.05
gate:
  eval: pool-eval
  infra_validation: false
  policy:
    min_discordant: 5
    cold_start_floors: {recall: 0.5, precision: 0.5}
"""
JOB = """\
model: promo-model
entrypoint: hatedetection.train:train
code_dir: src
inputs:
  train: tiny
  eval: pool-eval
params: params.yaml
"""


def git(project: Project, *args: str) -> str:
    command = ["git", "-c", "user.name=Dev", "-c", "user.email=dev@example.org", *args]
    return subprocess.run(command, cwd=project.root, capture_output=True, text=True, check=True).stdout.strip()


def scaffold(project: Project, model: str, job: str, data: list[tuple[str, ...]]) -> Project:
    """The reference model's code, one job for ``model``, the ``trunkml data`` steps, all committed as A."""
    shutil.copytree(
        REPO_ROOT / "src" / "hatedetection",
        project.root / "src" / "hatedetection",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (project.root / "jobs" / model).mkdir(parents=True)
    (project.root / "jobs" / model / "train.yaml").write_text(job, encoding="utf-8")
    (project.root / "jobs" / model / "params.yaml").write_text("cv_folds: 2\n", encoding="utf-8")
    (project.root / ".gitignore").write_text(".trunkml/\n__pycache__/\n", encoding="utf-8")
    for args in data:
        assert project.cli("data", *args).code == 0
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "A")
    return project


@pytest.fixture
def promo(make_project: Callable[..., Project]) -> Project:
    """Committed project; v1 (CT on 300 rows) and v2 (1,500 rows) registered, neither evaluated yet."""
    data = [
        ("synth", "--rows", "2000", "--seed", "5", "--add", "pool"),
        ("split", "pool", "--eval-fraction", "0.25", "--add", "pool"),
        ("synth", "--rows", "120", "--seed", "9", "--add", "tiny"),
    ]
    project = scaffold(make_project(project_yaml=PROJECT), "promo-model", JOB, data)
    assert project.cli("ct", "promo-model").code == 0
    assert project.cli("train", "promo-model", "--input", "train=pool-train").code == 0
    return project


PIPES_PROJECT = """\
name: pipes
model: pipes-model
data:
  max_eval_overlap: 0.05
gate:
  eval: pool-eval
  infra_validation: false
  policy:
    min_discordant: 5
    cold_start_floors: {recall: 0.5, precision: 0.5}
approvals:
  dev: {required: 1}
pipelines:
  model_ci:
    hook: [python, -c, "print('project checks passed')"]
    smoke_rows: 120
"""
PIPES_JOB = JOB.replace("promo-model", "pipes-model")


@pytest.fixture
def pipes(make_project: Callable[..., Project]) -> Project:
    """A committed project (commit A) with one job and pointers, nothing trained: for triggers and the runner."""
    data = [
        ("synth", "--rows", "1200", "--seed", "5", "--add", "pool"),
        ("split", "pool", "--eval-fraction", "0.25", "--add", "pool"),
        ("synth", "--rows", "400", "--seed", "9", "--add", "tiny"),
        ("synth", "--rows", "60", "--seed", "11", "--add", "unused"),
    ]
    return scaffold(make_project(project_yaml=PIPES_PROJECT), "pipes-model", PIPES_JOB, data)


def commit(project: Project, message: str, files: dict[str, str]) -> str:
    """Write ``files`` (relative path -> text), commit them, and return the new commit's sha."""
    for relative, text in files.items():
        path = project.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    git(project, "add", "-A")
    git(project, "commit", "-qm", message)
    return git(project, "rev-parse", "HEAD")
