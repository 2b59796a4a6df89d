"""A tabular model's server: records in, strict 422s naming the field, an OpenAPI schema with the real features."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serving.conftest import RunningServer, launch_server
from tests.tabular import MODEL, TabularProject

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tabular_project: TabularProject, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = launch_server(
        tabular_project.root, tabular_project.root / "endpoints" / MODEL / "endpoint.yaml", tmp_path_factory.mktemp("s")
    )
    running.wait_for(lambda c: c.get("/readyz").status_code == 200)
    yield running
    running.kill()


@pytest.fixture(scope="module")
def records(tabular_project: TabularProject) -> list[dict[str, Any]]:
    return tabular_project.eval_records()


def post(server: RunningServer, body: Any) -> Any:
    with server.client() as client:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return client.post("/predict", content=content, headers={"content-type": "application/json"})


def test_records_are_answered_like_the_gate_scored_them(
    server: RunningServer, records: list[dict[str, Any]], tabular_project: TabularProject, tmp_path: Path
) -> None:
    answer = post(server, {"inputs": records})
    assert answer.status_code == 200, answer.text
    predictions = answer.json()["predictions"]
    assert len(predictions) == len(records)
    assert {p["label"] for p in predictions} == {0, 1}
    out = tmp_path / "scored.csv"
    tabular_project.cli("score", "@champion", "--input", f"{MODEL}-eval", "--output", str(out))
    import pandas as pd

    offline = pd.read_csv(out).sort_values("row_id")["score"].tolist()
    assert max(abs(p["score"] - s) for p, s in zip(predictions, offline, strict=True)) < 1e-9


@pytest.mark.parametrize(
    ("change", "field", "kind"),
    [
        (lambda r: {k: v for k, v in r.items() if k != "mean radius"}, "mean radius", "missing"),
        (lambda r: {**r, "colour": "red"}, "colour", "extra_forbidden"),
        (lambda r: {**r, "mean radius": "12.5"}, "mean radius", "float_type"),
        (lambda r: {**r, "mean radius": "9" * 100_000}, "mean radius", "float_type"),
        (lambda r: {**r, "size": "enormous"}, "size", "literal_error"),
        (lambda r: {**r, "smooth": "maybe"}, "smooth", "bool_type"),
        (lambda r: {**r, "mean radius": {"a": [[[[1]]]]}}, "mean radius", "float_type"),
    ],
)
def test_bad_records_are_refused_naming_the_field(
    server: RunningServer, records: list[dict[str, Any]], change: Any, field: str, kind: str
) -> None:
    answer = post(server, {"inputs": [records[0], change(records[0])]})
    assert answer.status_code == 422, answer.text
    details = answer.json()["details"]
    assert any(d["loc"][:3] == ["inputs", 1, field] and d["type"] == kind for d in details), details


def test_nan_ten_thousand_fields_and_deep_nesting_get_a_4xx(
    server: RunningServer, records: list[dict[str, Any]]
) -> None:
    nan = json.dumps({"inputs": [records[0]]}).replace(str(records[0]["mean radius"]), "NaN", 1).encode()
    wide = {"inputs": [{**records[0], **{f"x{i}": 1 for i in range(10_000)}}]}
    deep = b'{"inputs": [' + b"[" * 5000 + b"]" * 5000 + b"]}"
    for body in (nan, wide, deep):
        answer = post(server, body)
        assert 400 <= answer.status_code < 500, answer.text[:300]


def test_the_text_shorthand_is_refused_for_a_tabular_model(server: RunningServer) -> None:
    answer = post(server, {"text": "hello"})
    assert answer.status_code == 422
    assert "inputs" in answer.json()["hint"]


def test_openapi_lists_the_real_features_and_their_types(server: RunningServer) -> None:
    with server.client() as client:
        schema = client.get("/openapi.json").json()
    body = schema["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/PredictRecords"}
    record = schema["components"]["schemas"]["Record"]
    assert record["additionalProperties"] is False
    assert record["properties"]["mean radius"]["type"] == "number"
    assert record["properties"]["size"]["enum"] == ["large", "small"]
    assert record["properties"]["smooth"]["type"] == "boolean"
    assert "mean radius" in record["required"]
    assert "malignant" in schema["paths"]["/predict"]["post"]["description"]


def test_records_are_explained_with_shap_values_that_add_up(
    server: RunningServer, records: list[dict[str, Any]]
) -> None:
    with server.client() as client:
        answer = client.post("/predict?explain=true&top=3", json={"inputs": records[:2]})
    assert answer.status_code == 200, answer.text
    first = answer.json()["predictions"][0]
    explanation = first["explanation"]
    assert explanation["method"].startswith("SHAP")
    named = [c["feature"].split("=")[0] for c in explanation["toward"] + explanation["against"]]
    assert 0 < len(named) <= 6
    assert set(named) <= set(records[0])
    shown = sum(c["weight"] for c in explanation["toward"] + explanation["against"])
    assert explanation["exact"] is True  # Shapley values add up: baseline score + contributions = the score
    assert abs(explanation["base"] + shown + explanation["rest"] - first["score"]) < 1e-9


@pytest.mark.timeout(900)
def test_schemathesis_finds_no_server_error_on_the_records_endpoint(server: RunningServer, tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert cli, "schemathesis is part of the dev dependencies"
    events = tmp_path / "events.ndjson"
    done = subprocess.run(
        [cli, "run", f"{server.url}/openapi.json", "--checks", "not_a_server_error", "--max-examples", "300",
         "--seed", "20261203", "--phases", "coverage,fuzzing", "--include-path", "/predict",
         "--header", f"Authorization: {server.admin()['authorization']}",
         "--report", "ndjson", "--report-ndjson-path", str(events)],
        capture_output=True, text=True, timeout=900, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:]
    cases = 0
    for line in events.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if "ScenarioFinished" in event:
            finished = event["ScenarioFinished"]
            assert finished["status"] == "success", json.dumps(finished)[:2000]
            cases += len(finished["recorder"]["cases"])
    assert cases >= 300  # generated records: valid ones answered, invalid ones refused, never a 5xx


def test_trunkml_explain_takes_a_record_as_json(tabular_project: TabularProject, records: list[dict[str, Any]]) -> None:
    done = tabular_project.cli("explain", "@champion", json.dumps(records[0]), "--top", "2", "--json")
    [explained] = json.loads(done.stdout)["explanations"]
    assert explained["method"].startswith("SHAP")
    assert len(explained["toward"]) + len(explained["against"]) <= 4
    bad = tabular_project.cli("explain", "@champion", '{"mean radius": ', check=False)
    assert bad.returncode == 2
    assert "not valid JSON" in bad.stderr
