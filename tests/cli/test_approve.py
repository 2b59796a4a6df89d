"""`trunkml approve` and `trunkml approvals list`: nothing is approved that does not exist."""

from __future__ import annotations

from tests.conftest import Project


def test_approving_a_missing_version_changes_nothing(empty: Project) -> None:
    missing = empty.cli("approve", "1", "--by", "bob", "--yes")
    assert missing.code == 2
    assert "model 'm' has no version 1" in missing.stderr
    assert empty.cli("history", "--json").json() == []  # no approval event was written


def test_listing_approvals_defaults_to_the_challenger(empty: Project) -> None:
    listed = empty.cli("approvals", "list")
    assert listed.code == 2
    assert "no version with alias @challenger" in listed.stderr
