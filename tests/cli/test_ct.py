"""`trunkml ct` and `trunkml train`: a job that does not exist is named, with the jobs there are."""

from __future__ import annotations

import pytest

from tests.conftest import Project


@pytest.mark.parametrize("command", ["ct", "train"])
def test_a_missing_job_is_a_usage_error(empty: Project, command: str) -> None:
    missing = empty.cli(command, "nojob", "--json")
    assert missing.code == 2
    document = missing.json()
    assert document["error"] == "NotFoundError"
    assert "nojob" in document["message"]
