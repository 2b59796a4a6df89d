"""`trunkml promote`: usage is checked before anything moves, and a missing version is named."""

from __future__ import annotations

from tests.conftest import Project


def test_from_needs_to_and_someone_must_act(empty: Project) -> None:
    half = empty.cli("promote", "1", "--from", "dev")
    assert (half.code, "--from and --to go together") == (2, half.stderr.splitlines()[0].removeprefix("error: "))
    anonymous = empty.cli("promote", "1")
    assert anonymous.code == 2
    assert "who is acting?" in anonymous.stderr
    assert "TRUNKML_ACTOR" in anonymous.stderr


def test_a_version_that_does_not_exist_is_a_usage_error(empty: Project) -> None:
    missing = empty.cli("promote", "1", "--by", "ana")
    assert missing.code == 2
    assert "model 'm' has no version 1" in missing.stderr
    assert "trunkml models list" in missing.stderr
