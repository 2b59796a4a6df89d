"""Monitoring against a live server's log, on real data through the mirror (skipped without it).

Reference: the champion trained on the Fortuna train split. Traffic: the held-out Fortuna
split (no drift may be flagged) or HateBR Instagram comments (drift must be flagged).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.monitoring.conftest import FortunaProject, send, stop_and_flush
from tests.serving.conftest import RunningServer
from trunkml.cli.main import run
from trunkml.training.metrics import binary_metrics

pytestmark = pytest.mark.slow


def monitor(project: FortunaProject, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
            endpoint: Path, *args: str) -> tuple[int, dict[str, Any]]:  # fmt: skip
    for key, value in project.env().items():
        monkeypatch.setenv(key, value)
    capsys.readouterr()
    code = run(["monitor", "--endpoint", str(endpoint), "--json", *args])
    captured = capsys.readouterr()
    import json

    return code, json.loads(captured.out)


def fired(result: dict[str, Any]) -> set[str]:
    return {check["name"] for check in result["drift"] if check["fired"]}


def test_held_out_fortuna_raises_no_alarm_and_online_recall_matches_offline(
    fortuna_project: FortunaProject,
    fortuna_server: Callable[[Path], RunningServer],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    held_out = fortuna_project.texts("fortuna-2019-eval")
    endpoint = fortuna_project.endpoint("holdout")
    server = fortuna_server(endpoint)
    answers = send(server, held_out["text"].tolist(), "eval")
    labelled = list(range(0, len(held_out), 2))  # feedback for every second text
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for i in labelled:
            given = {"request_id": f"eval-{i}", "label": int(held_out["label"].iloc[i])}
            assert client.post("/feedback", json=given).status_code == 201
        assert client.post("/feedback", json={"request_id": "never-served", "label": 1}).status_code == 404
    stop_and_flush(server)

    report = tmp_path / "holdout.html"
    code, result = monitor(fortuna_project, monkeypatch, capsys, endpoint, "--window", "2000", "--report", str(report))
    assert code == 0, result
    assert result["rows"] == len(held_out)
    assert result["requests"] == len(held_out)
    assert result["version"] == 1
    assert result["profile"] == "verified"
    names = {check["name"] for check in result["drift"]}
    assert names == {
        "psi_text_length", "ks_text_length", "js_tokens", "oov_rate_shift", "js_char_ngrams",
        "psi_score", "ks_score", "positive_rate_shift",
    }  # fmt: skip
    assert fired(result) == set(), result["drift"]
    assert not [t for t in result["triggers"] if t["fired"]]
    # The champion's scores on its own eval set are exactly what it saw at training time.
    score = {c["name"]: c["value"] for c in result["drift"]}
    assert score["ks_score"] == pytest.approx(0.0, abs=1e-9)
    assert score["oov_rate_shift"] == pytest.approx(0.0)

    online = [m for m in result["online"] if m["version"] == 1 and m["route"] == "champion"]
    assert len(online) == 1
    truth = held_out["label"].iloc[labelled].to_numpy()
    predicted = [answers[i]["label"] for i in labelled]
    offline = binary_metrics(truth, predicted)
    assert online[0]["labelled"] == len(labelled)
    assert online[0]["positives"] == int(truth.sum())
    assert online[0]["predicted_positive"] == sum(predicted)
    assert online[0]["recall"] == pytest.approx(offline["recall"], abs=1e-12)
    assert online[0]["precision"] == pytest.approx(offline["precision"], abs=1e-12)
    assert online[0]["f1"] == pytest.approx(offline["f1"], abs=1e-12)
    page = report.read_text(encoding="utf-8")
    assert "no trigger fired" in page
    assert page.count("<img") >= 4


def test_instagram_comments_are_flagged_as_drift(
    fortuna_project: FortunaProject,
    fortuna_server: Callable[[Path], RunningServer],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    comments = fortuna_project.texts("hatebr").sample(1000, random_state=7)
    endpoint = fortuna_project.endpoint("hatebr")
    server = fortuna_server(endpoint)
    send(server, comments["text"].tolist(), "ig")
    stop_and_flush(server)

    report = tmp_path / "hatebr.html"
    code, result = monitor(fortuna_project, monkeypatch, capsys, endpoint, "--report", str(report))
    assert code == 1, result  # the drift trigger fired: a domain signal
    assert result["rows"] == 1000
    flagged = fired(result)
    assert {"psi_text_length", "ks_text_length", "js_tokens"} <= flagged, result["drift"]
    trigger = next(t for t in result["triggers"] if t["name"] == "drift")
    assert trigger["fired"]
    assert all(name in trigger["reason"] for name in flagged)
    page = report.read_text(encoding="utf-8")
    assert "retraining triggered" in page
    for name in flagged:
        assert name in page
