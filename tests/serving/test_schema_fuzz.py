"""schemathesis drives every operation of the published OpenAPI schema: no input may cause a server error."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.serving.conftest import RunningServer, ServingProject

CASES = 1000
# Operations without any input have a single possible request; every other one gets CASES generated cases.
WITHOUT_INPUT = {"GET /", "GET /healthz", "GET /readyz", "GET /metrics", "GET /model", "POST /admin/reload"}


@pytest.mark.slow
@pytest.mark.timeout(900)  # generating 1,000 cases per operation takes minutes of CPU on its own
def test_schemathesis_finds_no_server_error(
    serving_project: ServingProject, start_server: Callable[..., RunningServer], tmp_path: Path
) -> None:
    name = f"schema-{uuid.uuid4().hex[:6]}"
    (v1,) = serving_project.copies(name, 1)
    serving_project.champion(name, v1)
    server = start_server(serving_project.endpoint(name))
    events = tmp_path / "events.ndjson"
    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert cli, "schemathesis is part of the dev dependencies"
    auth = f"Authorization: {server.admin()['authorization']}"
    done = subprocess.run(
        [cli, "run", f"{server.url}/openapi.json", "--checks", "not_a_server_error", "--max-examples", str(CASES),
         "--seed", "20261121", "--phases", "coverage,fuzzing", "--header", auth,
         "--report", "ndjson", "--report-ndjson-path", str(events)],
        capture_output=True, text=True, timeout=900, cwd=tmp_path,  # its example cache stays out of the repo
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:]
    cases: Counter[str] = Counter()
    for line in events.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if "ScenarioFinished" in event:
            finished = event["ScenarioFinished"]
            assert finished["status"] == "success", json.dumps(finished)[:2000]
            cases[finished["recorder"]["label"]] += len(finished["recorder"]["cases"])
    assert set(cases) == WITHOUT_INPUT | {"POST /predict", "POST /feedback", "POST /webhooks/mlflow"}
    assert {label: count for label, count in cases.items() if label not in WITHOUT_INPUT and count < CASES} == {}
    with server.client() as client:
        assert 'status="500"' not in client.get("/metrics").text
