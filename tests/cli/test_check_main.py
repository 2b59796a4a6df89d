"""`trunkml check-main`: it needs the job whose commits it checks, and says which jobs there are."""

from __future__ import annotations

from tests.conftest import Project


def test_a_missing_job_spec_names_the_path_and_the_known_jobs(empty: Project) -> None:
    missing = empty.cli("check-main")
    assert missing.code == 2
    assert "no job spec at" in missing.stderr
    assert "jobs/m/train.yaml" in missing.stderr
    assert "known jobs: none" in missing.stderr
