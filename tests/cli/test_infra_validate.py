"""`trunkml infra-validate`: a version that does not exist is named, and no sandbox starts."""

from __future__ import annotations

from tests.conftest import Project


def test_a_missing_version(empty: Project) -> None:
    missing = empty.cli("infra-validate", "1")
    assert missing.code == 2
    assert "model 'm' has no version 1" in missing.stderr
    as_json = empty.cli("infra-validate", "1", "--json")
    assert as_json.code == 2
    assert as_json.json() == {
        "error": "NotFoundError",
        "message": "model 'm' has no version 1",
        "hint": "see `trunkml models list`",
        "exit_code": 2,
    }
