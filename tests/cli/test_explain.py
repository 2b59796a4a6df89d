"""`trunkml explain`: it needs texts, a sane --top, and a version that exists."""

from __future__ import annotations

from tests.conftest import Project


def test_usage_errors_are_exit_2(empty: Project) -> None:
    assert empty.cli("explain", "1").code == 2  # no texts
    top = empty.cli("explain", "1", "hello", "--top", "0")
    assert top.code == 2
    assert "--top must be between 1 and 100, got 0" in top.stderr
    missing = empty.cli("explain", "1", "hello")
    assert missing.code == 2
    assert "has no version 1" in missing.stderr
