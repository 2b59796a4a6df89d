"""Canary and shadow traffic, and the prediction log that records it."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.serving.conftest import RunningServer, ServingProject
from tests.serving.models import code_model
from trunkml.registry.artifacts import VerifiedModel

TEXTS = [f"mensagem número {i}: vocês {'são uns lixos' if i % 3 == 0 else 'jogaram bem'}" for i in range(200)]


async def _send_all(url: str, requests: list[dict[str, str]], concurrency: int = 32) -> list[httpx.Response]:
    """POST every ``{"text", "key"}`` to /predict with ``concurrency`` clients; responses in order."""
    results: list[httpx.Response | None] = [None] * len(requests)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(len(requests)):
        queue.put_nowait(index)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            index = queue.get_nowait()
            item = requests[index]
            headers = {"x-routing-key": item["key"]} if "key" in item else {}
            results[index] = await client.post("/predict", json={"text": item["text"]}, headers=headers)

    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return [r for r in results if r is not None]


def send_all(url: str, requests: list[dict[str, str]]) -> list[httpx.Response]:
    return asyncio.run(_send_all(url, requests))


def _log_rows(project: ServingProject, name: str) -> list[tuple[str, str, int]]:
    with sqlite3.connect(project.root / ".trunkml" / f"predictions-{name}.db") as db:
        return db.execute("SELECT request_id, route, version FROM predictions ORDER BY id").fetchall()


@pytest.mark.slow
def test_ten_percent_canary_is_about_a_tenth_and_sticky(
    serving_project: ServingProject, start_server: Callable[..., RunningServer]
) -> None:
    name, _champion, challenger = serving_project.champion_and_challenger("canary")
    server = start_server(serving_project.endpoint(name, traffic={"canary": {"percent": 10}}))
    server.with_challenger()
    first = send_all(server.url, [{"text": "olá pessoal", "key": f"user-{i}"} for i in range(4_000)])
    routes = [r.json()["route"] for r in first]
    assert Counter(r.status_code for r in first) == {200: 4_000}
    assert 340 <= routes.count("canary") <= 460  # 400 ± 3 standard deviations of a fair 10% split
    assert {r.headers["x-model-version"] for r in first if r.json()["route"] == "canary"} == {str(challenger)}
    again = send_all(server.url, [{"text": "outra coisa", "key": f"user-{i}"} for i in range(0, 4_000, 10)] * 2)
    assert [r.json()["route"] for r in again] == routes[::10] * 2  # the same user always lands on the same side
    server.stop()
    rows = _log_rows(serving_project, name)
    assert Counter(route for _, route, _ in rows) == Counter(routes) + Counter(r.json()["route"] for r in again)


def _expected(project: ServingProject, name: str, version: int) -> list[tuple[int, float]]:
    model = VerifiedModel(project.registry, name, version)
    try:
        labels, scores = model.predict(TEXTS)
    finally:
        model.close()
    return list(zip(labels.tolist(), scores.tolist(), strict=True))


@pytest.mark.parametrize("shadow_kind", ["raises", "sleeps"])
def test_a_failing_or_slow_shadow_never_touches_the_primary_answer(
    shadow_kind: str, serving_project: ServingProject, start_server: Callable[..., RunningServer], tmp_path: Path
) -> None:
    name = f"shadow-{shadow_kind}-{uuid.uuid4().hex[:6]}"
    (champion,) = serving_project.copies(name, 1)
    shadow = serving_project.register_folder(name, code_model(tmp_path, shadow_kind, sleep_s=30.0))
    serving_project.champion(name, champion)
    serving_project.challenger(name, shadow)
    endpoint = serving_project.endpoint(name, traffic={"shadow": {"enabled": True, "timeout_s": 0.5, "max_pending": 8}})
    server = start_server(endpoint)
    server.with_challenger()
    started = time.perf_counter()
    responses = send_all(server.url, [{"text": text} for text in TEXTS])
    slowest = max(r.elapsed.total_seconds() for r in responses)
    assert [r.status_code for r in responses] == [200] * len(TEXTS)
    assert {r.json()["route"] for r in responses} == {"champion"}
    assert [(r.json()["label"], r.json()["score"]) for r in responses] == _expected(serving_project, name, champion)
    # Waiting for the shadow would take 30 s; the margin below absorbs a busy 2-core machine.
    assert slowest < 15, f"a primary answer waited {slowest:.2f} s (the shadow sleeps 30 s)"
    with server.client() as client:
        metrics = client.get("/metrics").text
    outcome = "error" if shadow_kind == "raises" else "timeout"
    assert f'trunkml_shadow_total{{outcome="{outcome}"}}' in metrics
    assert time.perf_counter() - started < 60
    server.stop()
    assert {route for _, route, _ in _log_rows(serving_project, name)} == {"champion"}


def test_shadow_answers_are_logged_beside_the_primary_ones(
    serving_project: ServingProject, start_server: Callable[..., RunningServer]
) -> None:
    name, champion, challenger = serving_project.champion_and_challenger("shadow-ok")
    server = start_server(serving_project.endpoint(name, traffic={"shadow": {"enabled": True}}))
    server.with_challenger()
    responses = send_all(server.url, [{"text": text} for text in TEXTS[:50]])
    assert {r.headers["x-model-version"] for r in responses} == {str(champion)}
    server.wait_for(lambda c: 'trunkml_shadow_total{outcome="ok"} 50.0' in c.get("/metrics").text)
    server.stop()
    rows = _log_rows(serving_project, name)
    primary = {rid for rid, route, _ in rows if route == "champion"}
    shadowed = {rid for rid, route, version in rows if route == "shadow" and version == challenger}
    assert primary == shadowed == {r.json()["request_id"] for r in responses}


def test_log_rows_equal_2xx_answers_and_a_broken_log_never_fails_a_request(
    serving_project: ServingProject, start_server: Callable[..., RunningServer]
) -> None:
    name = f"log-{uuid.uuid4().hex[:6]}"
    (v1,) = serving_project.copies(name, 1)
    serving_project.champion(name, v1)
    server = start_server(serving_project.endpoint(name, log={"store_text": True}))
    mixed = [{"text": t} for t in TEXTS[:60]] + [{"text": "x" * 6000}] * 5  # the long ones are refused (422)
    responses = send_all(server.url, mixed)
    ok = [r for r in responses if r.status_code == 200]
    assert len(ok) == 60
    assert Counter(r.status_code for r in responses)[422] == 5
    with server.client() as client:
        batch = client.post("/predict", json={"texts": ["um", "dois", "três"]})
    server.wait_for(lambda c: "trunkml_prediction_log_rows_total 63.0" in c.get("/metrics").text)
    db_path = serving_project.root / ".trunkml" / f"predictions-{name}.db"
    with sqlite3.connect(db_path) as db:
        stored = db.execute("SELECT request_id, item, text, length(input_sha256) FROM predictions").fetchall()
        db.execute("DROP TABLE predictions")  # the log breaks under the running server
    assert len(stored) == 63
    assert {row[3] for row in stored} == {64}
    assert [row[2] for row in stored if row[0] == batch.json()["request_id"]] == ["um", "dois", "três"]
    after = send_all(server.url, [{"text": t} for t in TEXTS[:20]])
    assert [r.status_code for r in after] == [200] * 20
    server.wait_for(lambda c: "trunkml_prediction_log_errors_total 0.0" not in c.get("/metrics").text)
    assert server.stop() in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in server.logs()
