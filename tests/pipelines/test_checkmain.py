"""check-main on a real git repo: every triggering commit on main has exactly one version, and gaps are listed."""

from __future__ import annotations

import pytest

from tests.conftest import Project
from tests.pipelines.conftest import git


@pytest.mark.slow
def test_check_main_passes_then_finds_a_gap_and_flags_off_main_versions(promo: Project) -> None:
    # promo: commit A has CT version 1 (and an experiment, v2, at the same commit)
    (promo.root / "README.md").write_text("docs only\n", encoding="utf-8")
    git(promo, "add", "-A")
    git(promo, "commit", "-qm", "B: docs only (no trigger path)")
    params = promo.root / "jobs/promo-model/params.yaml"
    params.write_text("cv_folds: 2\nC: 4.0\n", encoding="utf-8")
    git(promo, "add", "-A")
    git(promo, "commit", "-qm", "C: params")
    assert promo.cli("ct", "promo-model").code == 0
    clean = promo.cli("check-main", "--json")
    assert clean.code == 0, clean.stdout
    report = clean.json()
    assert report["ok"] is True
    assert report["commits_checked"] == 2  # A and C; B touches no trigger path
    assert {"jobs/promo-model", "src/hatedetection", "datasets/tiny", "datasets/pool-eval", "datasets/pool"} <= set(
        report["paths"]
    )

    (promo.root / "src/hatedetection/NOTE.txt").write_text("model code change\n", encoding="utf-8")
    git(promo, "add", "-A")
    git(promo, "commit", "-qm", "D: model code without CT")
    gap = promo.cli("check-main", "--backfill")
    assert gap.code == 1
    assert "'D: model code without CT': no version" in gap.stdout
    assert "trunkml ct promo-model" in gap.stdout

    git(promo, "checkout", "-qb", "feature")
    params.write_text("cv_folds: 2\nC: 2.0\n", encoding="utf-8")
    git(promo, "commit", "-qam", "E: on a branch")
    assert promo.cli("ct", "promo-model").code == 0
    git(promo, "checkout", "-q", "main")
    flagged = promo.cli("check-main", "--json").json()
    assert [item["kind"] for item in flagged["off_main"]] == ["ct"]
    since = promo.cli("check-main", "--since", "HEAD~1", "--json").json()
    assert since["commits_checked"] == 1
