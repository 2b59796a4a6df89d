"""Drift per feature type on a served tabular model: quiet on held-out rows, loud on a shifted numeric feature."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.serving.conftest import launch_server
from tests.tabular import MODEL, TabularProject
from trunkml.config.project import DriftThresholds
from trunkml.datasets.profile import CategoricalProfile, ReferenceProfile, feature_profile
from trunkml.monitoring.feature_drift import category_counts, feature_checks


def send(server: Any, records: list[dict[str, Any]]) -> None:
    with server.client() as client:
        for start in range(0, len(records), 25):
            answer = client.post("/predict", json={"inputs": records[start : start + 25]})
            assert answer.status_code == 200, answer.text


def monitor(project: TabularProject, requests: int) -> tuple[int, dict[str, Any]]:
    done = project.cli("monitor", "--window", str(requests), "--json", check=False)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


@pytest.mark.slow
def test_the_monitor_flags_a_shifted_numeric_feature_and_stays_quiet_on_held_out_rows(
    tabular_project: TabularProject, tmp_path: Path
) -> None:
    root = tabular_project.root
    server = launch_server(root, root / "endpoints" / MODEL / "endpoint.yaml", tmp_path)
    try:
        server.wait_for(lambda c: c.get("/readyz").status_code == 200)
        held_out = tabular_project.eval_records()  # each once: repeated rows are not a sample of anything
        send(server, held_out)
        code, quiet = monitor(tabular_project, -(-len(held_out) // 25))
        fired = [s["name"] for s in quiet["drift"] if s["fired"]]
        assert code == 0, fired
        assert {s["feature"] for s in quiet["drift"]} >= {"mean radius", "size", "smooth"}
        shifted = [{**r, "mean radius": r["mean radius"] * 1.6} for r in held_out]
        send(server, shifted)
        code, loud = monitor(tabular_project, -(-len(shifted) // 25))
    finally:
        server.kill()
    assert code == 1
    first = loud["drift"][0]
    assert first["feature"] == "mean radius"
    assert first["fired"]
    assert {s["name"] for s in loud["drift"] if s["fired"]} >= {"psi_mean radius", "ks_mean radius"}
    report = (root / ".trunkml" / "reports" / "monitor" / f"{MODEL}.html").read_text(encoding="utf-8")
    pictured = re.findall(r"feature ([a-z ]+)", report)
    assert pictured[0] == "mean radius"  # one picture per feature, the most drifted first
    assert 1 < len(set(pictured)) <= 12


def test_categorical_counts_have_an_unseen_cell() -> None:
    profile = feature_profile("categorical", ["a", "a", "b", None])
    assert isinstance(profile, CategoricalProfile)
    assert profile.counts == {"a": 2, "b": 1}
    assert profile.missing_rate == 0.25
    reference, counts, unseen = category_counts(profile, ["a", "c", "c", None])
    assert reference.tolist() == [2 / 3, 1 / 3, 0.0]
    assert counts.tolist() == [1.0, 0.0, 2.0]
    assert unseen == 2


def test_per_feature_thresholds_override_the_type_defaults() -> None:
    thresholds = DriftThresholds.model_validate({"psi_numeric": 0.3, "features": {"age": {"ks": None, "psi": 0.5}}})
    assert thresholds.for_feature("age") == {"psi": 0.5, "js": 0.05, "unseen": 0.02}
    assert thresholds.for_feature("income")["psi"] == 0.3
    profile = ReferenceProfile(
        train_rows=4, eval_rows=4, label_prior=0.5, eval_scores=[0.5], eval_positive_rate=0.5,
        features={"plan": feature_profile("categorical", ["basic"] * 300 + ["pro"] * 300)},
        feature_kinds={"plan": "categorical"},
    )  # fmt: skip
    window = pd.Series([json.dumps({"plan": "enterprise"})] * 300)
    checks = {c.name: c for c in feature_checks(profile, window, thresholds, set())}
    assert checks["unseen_plan"].fired
    assert checks["js_plan"].fired
