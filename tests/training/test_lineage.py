"""Lineage: the commit, the dirty flag and the environment hash a run records."""

from __future__ import annotations

from pathlib import Path

from tests.training.conftest import commit_all, git
from trunkml.training.provenance import environment_hash, environment_lock, git_state


def test_clean_dirty_and_untracked(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.email", "d@example.org")
    git(tmp_path, "config", "user.name", "D")
    (tmp_path / "a.txt").write_text("a", encoding="utf-8")
    sha = commit_all(tmp_path, "a")
    state = git_state(tmp_path)
    assert (state.sha, state.dirty, state.branch, state.identified) == (sha, False, "main", True)
    (tmp_path / "a.txt").write_text("b", encoding="utf-8")
    assert git_state(tmp_path).dirty
    commit_all(tmp_path, "b")
    (tmp_path / "new.txt").write_text("n", encoding="utf-8")
    assert git_state(tmp_path).dirty


def test_no_repository(tmp_path: Path) -> None:
    state = git_state(tmp_path)
    assert state.sha is None
    assert not state.identified


def test_environment_hash_is_stable_and_lists_packages() -> None:
    lock = environment_lock()
    assert "mlflow==" in lock.lower()
    assert environment_hash(lock) == environment_hash(lock)
    assert environment_hash(lock) != environment_hash(lock + "extra==1\n")
