"""`trunkml history`: an empty history is said in words, and is an empty JSON list."""

from __future__ import annotations

from tests.conftest import Project


def test_an_empty_history(empty: Project) -> None:
    plain = empty.cli("history")
    assert (plain.code, plain.stdout.strip()) == (0, "no history for m yet")
    assert empty.cli("history", "--json").json() == []
    bad = empty.cli("history", "-m", "../etc")
    assert bad.code == 2  # a hostile model name is refused before the registry is opened
