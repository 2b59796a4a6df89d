"""The HTTP API on a real server: predict, feedback, health, model info, metrics, auth and webhooks."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from mlflow.webhooks.delivery import _generate_hmac_signature

from tests.serving.conftest import WEBHOOK_SECRET, RunningServer, ServingProject, launch_server


def _one_version_endpoint(serving_project: ServingProject) -> Path:
    name = f"api-{uuid.uuid4().hex[:6]}"
    (v1,) = serving_project.copies(name, 1)
    serving_project.champion(name, v1)
    return serving_project.endpoint(name)


@pytest.fixture(scope="module")
def api_server(serving_project: ServingProject, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One server for the tests that only read, or add what only they look at (its own feedback rows)."""
    server = launch_server(serving_project, _one_version_endpoint(serving_project), tmp_path_factory.mktemp("api"))
    try:
        server.wait_for(lambda c: c.get("/readyz").status_code == 200)
        yield server
    finally:
        server.kill()


@pytest.fixture
def own_server(serving_project: ServingProject, start_server: Callable[..., RunningServer]) -> RunningServer:
    """A server of the test's own, for counts that another test's requests would change."""
    return start_server(_one_version_endpoint(serving_project))


def test_predict_single_and_batch_answer_with_version_and_request_id(api_server: RunningServer) -> None:
    with api_server.client() as client:
        one = client.post("/predict", json={"text": "vocês são uns lixos nojentos"})
        many = client.post("/predict", json={"texts": ["bom dia a todos", "que jogo bonito"]})
        mine = client.post("/predict", json={"text": "olá"}, headers={"x-request-id": "my-id-42"})
    assert one.status_code == 200
    body = one.json()
    assert set(body) == {"request_id", "model", "version", "route", "label", "score"}
    assert body["version"] == 1
    assert body["route"] == "champion"
    assert body["label"] in (0, 1)
    assert 0.0 <= body["score"] <= 1.0
    assert one.headers["x-model-version"] == "1"
    assert one.headers["x-request-id"] == body["request_id"]
    assert [p["label"] in (0, 1) for p in many.json()["predictions"]] == [True, True]
    assert mine.json()["request_id"] == "my-id-42"


def test_every_response_names_the_model_version(api_server: RunningServer) -> None:
    with api_server.client() as client:
        responses = [
            client.get("/healthz"),
            client.get("/readyz"),
            client.get("/model"),
            client.get("/metrics"),
            client.get("/no/such/page"),
            client.post("/predict", content=b"{", headers={"content-type": "application/json"}),
        ]
    assert [r.headers.get("x-model-version") for r in responses] == ["1"] * len(responses)
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 404, 422]


def test_model_shows_version_lineage_digests_and_traffic(
    api_server: RunningServer, serving_project: ServingProject
) -> None:
    with api_server.client() as client:
        info = client.get("/model").json()
    champion = info["champion"]
    assert champion["version"] == 1
    assert champion["git_sha"] == serving_project.base_tags["trunkml.git_sha"]
    assert champion["artifact_digests"] == json.loads(serving_project.base_tags["trunkml.artifact_digests"])
    assert len(champion["model_digest"]) == 64
    assert info["traffic"]["canary"]["percent"] == 0
    assert info["traffic"]["shadow"]["enabled"] is False


def test_the_class_names_of_the_training_pointer_reach_the_api_and_the_status_page(api_server: RunningServer) -> None:
    with api_server.client() as client:
        champion = client.get("/model").json()["champion"]
        described = client.get("/openapi.json").json()["paths"]["/predict"]["post"]["description"]
        page = client.get("/").text
    assert champion["classes"] == ["legit", "fraud"]
    assert "label 0 = legit, label 1 = fraud" in described
    assert "label 0: legit; label 1: fraud" in page


def test_metrics_count_requests_by_version_and_status(own_server: RunningServer) -> None:
    with own_server.client() as client:
        for _ in range(5):
            client.post("/predict", json={"text": "teste"})
        client.post("/predict", json={"txt": "typo"})
        text = client.get("/metrics").text
    assert 'trunkml_requests_total{path="/predict",status="200",version="1"} 5.0' in text
    assert 'trunkml_requests_total{path="/predict",status="422",version="1"} 1.0' in text
    assert "trunkml_request_duration_seconds_bucket" in text
    assert 'trunkml_batch_size_count{role="champion"}' in text
    assert 'trunkml_model_swaps_total{role="champion"} 1.0' in text


def test_feedback_is_stored_for_served_requests_only(
    api_server: RunningServer, serving_project: ServingProject
) -> None:
    with api_server.client() as client:
        served = client.post("/predict", json={"texts": ["a", "b"]}).json()
        rid = served["request_id"]
        first = client.post("/feedback", json={"request_id": rid, "label": 1})
        second = client.post("/feedback", json={"request_id": rid, "item": 1, "label": 0})
        again = client.post("/feedback", json={"request_id": rid, "label": 0})
        unknown = client.post("/feedback", json={"request_id": "never-served", "label": 1})
        beyond = client.post("/feedback", json={"request_id": rid, "item": 2, "label": 1})
        name = client.get("/model").json()["model"]
    assert [first.status_code, second.status_code, again.status_code] == [201, 201, 201]
    assert unknown.status_code == 404
    assert beyond.status_code == 404
    with sqlite3.connect(serving_project.root / ".trunkml" / f"predictions-{name}.db") as db:
        stored = db.execute("SELECT item, label FROM feedback WHERE request_id = ? ORDER BY item", (rid,)).fetchall()
    assert stored == [(0, 0), (1, 0)]  # the latest answer for item 0 wins


def test_admin_reload_needs_the_api_key(api_server: RunningServer) -> None:
    with api_server.client() as client:
        missing = client.post("/admin/reload")
        wrong = client.post("/admin/reload", headers={"authorization": "Bearer not-the-key"})
        right = client.post("/admin/reload", headers=api_server.admin())
        via_header = client.post("/admin/reload", headers={"x-api-key": api_server.admin()["authorization"][7:]})
    assert missing.status_code == 401
    assert wrong.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert right.status_code == 200
    assert right.json()["champion"] == 1
    assert via_header.status_code == 200


def _signed(body: dict[str, object], secret: str = WEBHOOK_SECRET, age_s: int = 0) -> tuple[bytes, dict[str, str]]:
    payload = json.dumps(body)
    delivery, stamp = str(uuid.uuid4()), str(int(time.time()) - age_s)
    headers = {
        "content-type": "application/json",
        "x-mlflow-delivery-id": delivery,
        "x-mlflow-timestamp": stamp,
        "x-mlflow-signature": _generate_hmac_signature(secret, delivery, stamp, payload),
    }
    return payload.encode(), headers


def test_webhook_accepts_only_signed_fresh_deliveries_for_this_model(
    serving_project: ServingProject, start_server: Callable[..., RunningServer]
) -> None:
    name = f"hook-{uuid.uuid4().hex[:6]}"
    v1, v2 = serving_project.copies(name, 2)
    serving_project.champion(name, v1)
    server = start_server(serving_project.endpoint(name, follow={"poll_interval_s": 3600}))
    serving_project.champion(name, v2)
    event = {"entity": "model_version_alias", "action": "created", "data": {"name": name, "alias": "champion"}}
    with server.client() as client:
        body, headers = _signed(event, secret="wrong-secret")
        assert client.post("/webhooks/mlflow", content=body, headers=headers).status_code == 401
        body, headers = _signed(event, age_s=3600)
        assert client.post("/webhooks/mlflow", content=body, headers=headers).status_code == 401
        body, headers = _signed({**event, "data": {"name": "someone-else", "alias": "champion"}})
        assert client.post("/webhooks/mlflow", content=body, headers=headers).json() == {"accepted": False}
        body, headers = _signed(event)
        accepted = client.post("/webhooks/mlflow", content=body, headers=headers)
        replay = client.post("/webhooks/mlflow", content=body, headers=headers)
    assert accepted.status_code == 202
    assert accepted.json() == {"accepted": True}
    assert replay.status_code == 401
    server.serving(v2, timeout_s=30)  # polling is hourly: only the webhook can have caused the swap


def test_readyz_is_503_until_a_champion_exists(
    serving_project: ServingProject, start_server: Callable[..., RunningServer]
) -> None:
    name = f"cold-{uuid.uuid4().hex[:6]}"
    (v1,) = serving_project.copies(name, 1)
    server = start_server(serving_project.endpoint(name), ready=False)
    with server.client() as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 503
        early = client.post("/predict", json={"text": "olá"})
        assert early.status_code == 503
        assert early.json()["error"] == "UnavailableError"
    serving_project.champion(name, v1)
    server.serving(v1)
