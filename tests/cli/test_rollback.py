"""`trunkml rollback`: with no champion there is nothing to return to, and that is a refusal."""

from __future__ import annotations

from tests.conftest import Project


def test_no_champion_is_refused_with_the_next_step(empty: Project) -> None:
    refused = empty.cli("rollback", "--by", "ana")
    assert refused.code == 1
    assert "m has no champion to roll back" in refused.stderr
    assert "trunkml promote" in refused.stderr
