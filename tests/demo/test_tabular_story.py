"""`trunkml demo --example tabular`: the story for a model of table columns, records in and out."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import Project
from tests.demo.test_story import runs


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_tabular_demo_promotes_hot_swaps_rejects_rolls_back_and_monitors(project: Project) -> None:
    result = project.cli("demo", "--example", "tabular", "--workdir", "ws", "--json")
    assert result.code == 0, result.stderr
    report = result.json()
    assert all(step["ok"] for step in report["steps"]), [s for s in report["steps"] if not s["ok"]]
    steps = {step["name"]: step["detail"] for step in report["steps"]}
    a, b, c = runs(report)
    assert list(a) == ["workspace-cd", "model-ct", "model-cd"]
    assert a["model-cd"].startswith("waiting for approval")
    assert list(b) == ["model-ct", "model-cd"]
    assert list(c) == ["model-ct", "model-cd"]
    assert c["model-cd"].startswith("failed")
    added = steps["trunkml data add demo-cancer --target diagnosis --positive malignant --exclude patient"]
    assert "32 features inferred (30 numeric, 1 categorical, 1 boolean)" in added
    assert ", 0 failed; versions seen in order: [1, 2]" in steps["server hot-swaps to v2"]
    assert steps["trunkml rollback"] == "@champion v2 → v1"
    assert steps["send demo-cancer-eval as traffic + /feedback"].endswith("records answered")
    [watched] = [detail for name, detail in steps.items() if name.startswith("trunkml monitor --window ")]
    judged = re.search(r"records served by v1: no drift in (\d+) statistics", watched)
    assert judged, watched
    assert int(judged.group(1)) > 60  # PSI and KS per numeric feature, JS and unseen per categorical, the score
    assert "triggers: none fired" in watched
    workspace = Path(report["workdir"])
    monitor = (workspace / ".trunkml" / "reports" / "monitor.html").read_text(encoding="utf-8")
    assert "psi_mean radius" in monitor
    gate = next((workspace / ".trunkml" / "reports" / "demo-classifier").glob("v2-vs-v1/gate.md"))
    assert "PROMOTE" in gate.read_text(encoding="utf-8")
