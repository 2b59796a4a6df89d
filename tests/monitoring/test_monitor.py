"""`trunkml monitor` on a live server's log (synthetic data): triggers, shadow evidence, dispatch, bad input."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml
from fastapi import FastAPI, Request, Response

from tests.monitoring.conftest import send, stop_and_flush
from tests.serving.conftest import RunningServer, ServingProject, free_port
from tests.serving.models import code_model
from trunkml.cli.main import run
from trunkml.datasets import DataService


@pytest.fixture
def github() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local stand-in for GitHub's REST API (unreachable here) that records workflow_dispatch calls, answering
    204 No Content as GitHub documents for ``POST /repos/{owner}/{repo}/actions/workflows/{id}/dispatches``."""
    received: list[dict[str, Any]] = []
    app = FastAPI()

    @app.post("/repos/{owner}/{repo}/actions/workflows/{workflow}/dispatches")
    async def dispatches(owner: str, repo: str, workflow: str, request: Request) -> Response:
        received.append({"repo": f"{owner}/{repo}", "workflow": workflow, "auth": request.headers.get("authorization"),
                         "body": await request.json()})  # fmt: skip
        return Response(status_code=204)

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", received
    server.should_exit = True
    thread.join(10)


def ops_project(tmp_path: Path, model: str, monitoring: dict[str, Any]) -> Path:
    """A second checkout that shares the serving project's registry, with its own monitoring settings."""
    root = tmp_path / "ops"
    root.mkdir()
    config = {"name": "ops", "model": model, "monitoring": monitoring}
    (root / "trunkml.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return root


def monitor(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], env: dict[str, str],
            *args: str) -> tuple[int, str, str]:  # fmt: skip
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    capsys.readouterr()
    code = run(["monitor", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_triggers_fire_shadow_evidence_is_reported_and_the_dispatch_is_sent(
    serving_project: ServingProject,
    start_server: Callable[..., RunningServer],
    github: tuple[str, list[dict[str, Any]]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    name = f"monitor-{uuid.uuid4().hex[:6]}"
    champion = serving_project.copies(name, 1)[0]
    serving_project.champion(name, champion)
    shadow = serving_project.register_folder(name, code_model(tmp_path, "all_positive"))
    serving_project.challenger(name, shadow)
    endpoint = serving_project.endpoint(name, traffic={"shadow": {"enabled": True}})
    server = start_server(endpoint)
    server.with_challenger()
    rows = DataService(serving_project.settings).load("demo").labelled().head(300)
    answers = send(server, rows["text"].tolist(), "syn")
    server.wait_for(lambda c: 'trunkml_shadow_total{outcome="ok"} 300.0' in c.get("/metrics").text)
    missed = [i for i, answer in enumerate(answers) if answer["label"] == 0][:10]
    truth = [1 if i in missed else int(label) for i, label in enumerate(rows["label"])]
    with httpx.Client(base_url=server.url) as client:
        for i, label in enumerate(truth):
            assert client.post("/feedback", json={"request_id": f"syn-{i}", "label": label}).status_code == 201
    stop_and_flush(server)

    url, received = github
    root = ops_project(tmp_path, name, {
        "min_rows": 50, "triggers": {"min_recall": 0.999, "min_labelled_positives": 5, "max_champion_age": "1s"},
    })  # fmt: skip
    env = {
        "TRUNKML_PROJECT": str(root), "MLFLOW_TRACKING_URI": serving_project.settings.tracking_uri,
        "GITHUB_TOKEN": "test-token", "GITHUB_REPOSITORY": "acme/hate-speech", "TRUNKML_GITHUB_API_URL": url,
    }  # fmt: skip
    code, out, err = monitor(monkeypatch, capsys, env, "--endpoint", str(endpoint), "--json", "--emit", "github")
    assert code == 1, err
    result = json.loads(out)
    fired = {t["name"] for t in result["triggers"] if t["fired"]}
    assert {"recall_floor", "champion_age"} <= fired
    online = next(m for m in result["online"] if m["version"] == champion and m["route"] == "champion")
    assert online["labelled"] == 300
    assert online["positives"] == sum(truth)
    assert online["recall"] < 0.999
    shadowed = next(m for m in result["online"] if m["version"] == shadow and m["route"] == "shadow")
    assert shadowed["labelled"] == 300
    assert shadowed["recall"] == 1.0
    report = result["shadow"]
    assert (report["champion"], report["shadow"], report["labelled"]) == (champion, shadow, 300)
    decision = report["decision"]
    assert decision["b"] == 0
    assert decision["c"] == online["positives"] - round(online["recall"] * online["positives"])
    assert not decision["would_promote"]  # recall is better, precision collapses: the guard holds it back
    assert any(reason.startswith("guard precision") and "FAILS" in reason for reason in decision["reasons"])
    assert len(received) == 1
    call = received[0]
    assert call["repo"] == "acme/hate-speech"
    assert call["auth"] == "Bearer test-token"
    assert call["workflow"] == "model-ct.yaml"
    assert call["body"]["ref"] == "main"
    assert set(call["body"]["inputs"]["triggers"].split(",")) == fired
    assert result["dispatch"] == call["body"]
    assert f"workflow_dispatch of model-ct sent to {url}/repos/acme/hate-speech/actions/workflows/model-ct.yaml" in err
    assert Path(result["report"]).is_file()

    # Without a token the payload is only printed, for a person or another tool to send.
    env_without = {k: v for k, v in env.items() if not k.startswith("GITHUB")}
    monkeypatch.delenv("GITHUB_TOKEN")
    monkeypatch.delenv("GITHUB_REPOSITORY")
    code, out, err = monitor(monkeypatch, capsys, env_without, "--endpoint", str(endpoint), "--emit", "github")
    assert code == 1
    assert '"ref": "main"' in out
    assert "workflow_dispatch not sent: set GITHUB_TOKEN and GITHUB_REPOSITORY" in err
    assert len(received) == 1

    # The same triggers again within monitoring.triggers.repeat_after (24h): not sent a second time.
    code, _, err = monitor(monkeypatch, capsys, env, "--endpoint", str(endpoint), "--emit", "github")
    assert code == 1
    assert "not sent: the same triggers were sent at" in err
    assert len(received) == 1


def test_quiet_when_no_trigger_is_configured_to_fire(
    serving_project: ServingProject,
    start_server: Callable[..., RunningServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    name = f"quiet-{uuid.uuid4().hex[:6]}"
    serving_project.champion(name, serving_project.copies(name, 1)[0])
    endpoint = serving_project.endpoint(name)
    server = start_server(endpoint)
    rows = DataService(serving_project.settings).load("demo").labelled()
    send(server, rows["text"].head(40).tolist(), "few")
    stop_and_flush(server)
    root = ops_project(tmp_path, name, {"triggers": {"max_champion_age": "365d"}})
    env = {"TRUNKML_PROJECT": str(root), "MLFLOW_TRACKING_URI": serving_project.settings.tracking_uri}
    code, out, err = monitor(monkeypatch, capsys, env, "--endpoint", str(endpoint), "--window", "1h")
    assert code == 0, err
    assert "only 40 texts in the window; drift is judged from 200" in out
    assert "trigger champion_age: quiet" in out


def test_bad_input_gets_clear_errors(
    serving_project: ServingProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    name = f"nolog-{uuid.uuid4().hex[:6]}"
    endpoint = serving_project.endpoint(name)
    env = {"TRUNKML_PROJECT": str(serving_project.root)}
    code, _, err = monitor(monkeypatch, capsys, env, "--endpoint", str(endpoint))
    assert code == 2
    assert "prediction log not found" in err
    assert "trunkml serve" in err
    code, _, err = monitor(monkeypatch, capsys, env, "--endpoint", str(endpoint), "--window", "an hour")
    assert code == 2
    assert "'an hour' is not a window" in err
    root = tmp_path / "broken"
    root.mkdir()
    (root / "trunkml.yaml").write_text("name: x\nmonitoring:\n  window: 1h\n  drift:\n    js_tokens: 2\n")
    code, _, err = monitor(monkeypatch, capsys, {"TRUNKML_PROJECT": str(root)}, "--endpoint", str(endpoint))
    assert code == 2
    assert "trunkml.yaml:5" in err
    assert "monitoring.drift.js_tokens" in err


def test_a_log_from_another_registry_is_a_clear_error_not_a_trigger(
    serving_project: ServingProject,
    start_server: Callable[..., RunningServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    name = f"elsewhere-{uuid.uuid4().hex[:6]}"
    serving_project.champion(name, serving_project.copies(name, 1)[0])
    endpoint = serving_project.endpoint(name)
    server = start_server(endpoint)
    send(server, ["bom dia"], "one")
    stop_and_flush(server)
    other = tmp_path / "other"
    other.mkdir()
    (other / "trunkml.yaml").write_text(f"name: other\nmodel: {name}\n", encoding="utf-8")
    code, _, err = monitor(monkeypatch, capsys, {"TRUNKML_PROJECT": str(other)}, "--endpoint", str(endpoint))
    assert code == 2
    assert f"{name} v1 is not in the registry at sqlite:///{other}" in err
    assert "another registry" in err
