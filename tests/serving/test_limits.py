"""Bad input gets a 4xx (never a 5xx), slow answers a 504, and SIGTERM lets in-flight requests finish."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.serving.conftest import RunningServer, ServingProject, launch_server
from tests.serving.models import code_model

MIB = 1024 * 1024
JSON = {"content-type": "application/json"}

# (what it is, body bytes, headers)
FUZZ: list[tuple[str, bytes, dict[str, str]]] = [
    ("NaN", b'{"text": NaN}', JSON),
    ("Infinity", b'{"text": Infinity}', JSON),
    ("-Infinity in a list", b'{"texts": ["a", -Infinity]}', JSON),
    ("1e999", b'{"text": 1e999}', JSON),
    ("lone surrogate", b'{"text": "abc \\ud800 def"}', JSON),
    ("lone low surrogate in a batch", b'{"texts": ["ok", "\\udfff"]}', JSON),
    ("NUL", b'{"text": "a\\u0000b"}', JSON),
    ("raw NUL byte", b'{"text": "a\x00b"}', JSON),
    ("deep nesting", b'{"text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", JSON),
    ("deep object nesting", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, JSON),
    ("invalid UTF-8", b'{"text": "caf\xc3\x28 \xff\xfe"}', JSON),
    ("overlong UTF-8", b'{"text": "\xc0\xaf"}', JSON),
    ("wrong content-type", b'{"text": "ola"}', {"content-type": "text/plain"}),
    ("form content-type", b"text=ola", {"content-type": "application/x-www-form-urlencoded"}),
    ("no content-type", b'{"text": "ola"}', {}),
    ("empty body", b"", JSON),
    ("not an object", b'["ola"]', JSON),
    ("null", b"null", JSON),
    ("number for text", b'{"text": 12}', JSON),
    ("both forms", b'{"text": "a", "texts": ["b"]}', JSON),
    ("unknown field", b'{"text": "a", "lang": "pt"}', JSON),
    ("empty list", b'{"texts": []}', JSON),
    ("too many texts", b'{"texts": [' + b",".join([b'"a"'] * 300) + b"]}", JSON),
    ("too long text", b'{"text": "' + b"a" * 5001 + b'"}', JSON),
    ("truncated JSON", b'{"text": "ol', JSON),
    ("duplicate-looking junk", b'{"text": "a"}{"text": "b"}', JSON),
    ("bad request id", b'{"text": "a"}', {**JSON, "x-request-id": "has spaces and ; semicolons"}),
    ("long routing key", b'{"text": "a"}', {**JSON, "x-routing-key": "k" * 300}),
    ("1 MiB + 1 bytes", b'{"text": "' + b"a" * (MIB + 1 - 12) + b'"}', JSON),
]


@pytest.fixture(scope="module")
def fuzz_server(serving_project: ServingProject, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One server for the whole corpus (module scope, so it starts its process itself)."""
    name = f"fuzz-{uuid.uuid4().hex[:6]}"
    (v1,) = serving_project.copies(name, 1)
    serving_project.champion(name, v1)
    server = launch_server(serving_project, serving_project.endpoint(name), tmp_path_factory.mktemp("fuzz"))
    server.wait_for(lambda c: c.get("/readyz").status_code == 200)
    yield server
    server.kill()


@pytest.mark.parametrize(("case", "body", "headers"), FUZZ, ids=[case for case, _, _ in FUZZ])
def test_fuzz_corpus_is_answered_4xx(
    case: str, body: bytes, headers: dict[str, str], fuzz_server: RunningServer
) -> None:
    with fuzz_server.client() as client:
        response = client.post("/predict", content=body, headers=headers)
        healthy = client.post("/predict", json={"text": "ainda estou aqui"})
    assert 400 <= response.status_code < 500, f"{case}: {response.status_code} {response.text[:300]}"
    if case.startswith("1 MiB"):
        assert response.status_code == 413
    if case.endswith("content-type"):
        assert response.status_code == 415
    assert healthy.status_code == 200


def test_bad_input_errors_say_what_is_wrong(fuzz_server: RunningServer) -> None:
    with fuzz_server.client() as client:
        typo = client.post("/predict", json={"txt": "ola"}).json()
        long = client.post("/predict", json={"text": "a" * 5001}).json()
        plain = client.post("/predict", content=b"ola", headers={"content-type": "text/plain"}).json()
    assert typo["error"] == "BadRequest"
    assert typo["hint"].startswith('send {"text"')
    assert any("txt" in detail["loc"] for detail in typo["details"])
    assert any("5000" in detail["msg"] for detail in long["details"])
    assert plain["error"] == "UnsupportedMediaType"
    assert "text/plain" in plain["message"]


def test_openapi_schema_is_strict_and_carries_the_limits(fuzz_server: RunningServer) -> None:
    with fuzz_server.client() as client:
        schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    text = components["PredictText"]
    assert text["additionalProperties"] is False
    assert text["properties"]["text"]["maxLength"] == 5000
    assert components["PredictTexts"]["properties"]["texts"]["maxItems"] == 256
    assert components["Feedback"]["additionalProperties"] is False
    assert set(schema["paths"]) >= {"/predict", "/feedback", "/healthz", "/readyz", "/metrics", "/model", "/"}
    assert set(schema["paths"]["/predict"]["post"]["responses"]) >= {"200", "413", "415", "422", "504"}


def _slow_server(
    project: ServingProject, start: Callable[..., RunningServer], tmp: Path, **limits: float
) -> RunningServer:
    name = f"slow-{uuid.uuid4().hex[:6]}"
    version = project.register_folder(name, code_model(tmp, "slow", sleep_s=1.0))
    project.champion(name, version)
    return start(project.endpoint(name, limits=limits, batching={"max_batch_size": 1}))


def test_a_request_slower_than_the_timeout_gets_504(
    serving_project: ServingProject, start_server: Callable[..., RunningServer], tmp_path: Path
) -> None:
    server = _slow_server(serving_project, start_server, tmp_path, request_timeout_s=0.3)
    with server.client() as client:
        slow = client.post("/predict", json={"text": "slow please"})
        time.sleep(1.2)  # the model is still busy with the abandoned request for a second
        quick = client.post("/predict", json={"text": "quick"})
        metrics = client.get("/metrics").text
    assert slow.status_code == 504
    assert slow.json()["error"] == "RequestTimedOut"
    assert quick.status_code == 200
    assert "trunkml_request_timeouts_total 1.0" in metrics


def test_sigterm_lets_in_flight_requests_finish(
    serving_project: ServingProject, start_server: Callable[..., RunningServer], tmp_path: Path
) -> None:
    server = _slow_server(serving_project, start_server, tmp_path, request_timeout_s=30)
    results: list[int] = []

    def call() -> None:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            results.append(client.post("/predict", json={"text": "slow but sure"}).status_code)

    callers = [threading.Thread(target=call) for _ in range(4)]
    for caller in callers:
        caller.start()
    time.sleep(0.5)  # all four are in flight: the model answers one per second
    code = server.stop(signal.SIGTERM)
    for caller in callers:
        caller.join(30)
    assert results == [200, 200, 200, 200]
    assert code in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in server.logs()


def test_a_model_answering_nan_gets_500_not_a_broken_200(
    serving_project: ServingProject, start_server: Callable[..., RunningServer], tmp_path: Path
) -> None:
    name = f"nan-{uuid.uuid4().hex[:6]}"
    version = serving_project.register_folder(name, code_model(tmp_path, "nan_later"))
    serving_project.champion(name, version)
    server = start_server(serving_project.endpoint(name))
    with server.client() as client:
        answer = client.post("/predict", json={"text": "olá"})
        metrics = client.get("/metrics").text
    assert answer.status_code == 500
    assert answer.json()["error"] == "ModelFailed"
    assert "trunkml_prediction_log_rows_total 0.0" in metrics
