"""`POST /predict?explain=true`: the serving model explains its answer, within bounds; off by default."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from pathlib import Path

from tests.serving.conftest import RunningServer, ServingProject
from tests.serving.models import code_model


def test_explanations_come_from_the_model_that_answered(
    serving_project: ServingProject, start_server: Callable[..., RunningServer]
) -> None:
    name = f"explain-{uuid.uuid4().hex[:6]}"
    (v1,) = serving_project.copies(name, 1)
    serving_project.champion(name, v1)
    server = start_server(serving_project.endpoint(name, limits={"max_explain_texts": 2}))
    with server.client() as client:
        plain = client.post("/predict", json={"text": "vocês são uns lixos nojentos"})
        one = client.post("/predict?explain=true&top=3", json={"text": "vocês são uns lixos nojentos"})
        two = client.post("/predict?explain=1", json={"texts": ["bom dia a todos", "fora daqui seus nojentos"]})
        too_many = client.post("/predict?explain=true", json={"texts": ["a", "b", "c"]})
        bad_flag = client.post("/predict?explain=maybe", json={"text": "a"})
        bad_top = client.post("/predict?explain=true&top=0", json={"text": "a"})
        stray_top = client.post("/predict?top=3", json={"text": "a"})
    assert "explanation" not in plain.json()
    body = one.json()
    assert one.status_code == 200
    assert one.headers["x-model-version"] == str(v1)
    explanation = body["explanation"]
    assert explanation["exact"] is True
    assert explanation["output"] == "logit"
    assert len(explanation["toward"]) <= 3
    assert len(explanation["against"]) <= 3
    assert abs(1 / (1 + math.exp(-explanation["value"])) - body["score"]) < 1e-6
    assert body["score"] == plain.json()["score"]
    assert [len(p["explanation"]["toward"]) > 0 or len(p["explanation"]["against"]) > 0
            for p in two.json()["predictions"]] == [True, True]  # fmt: skip
    assert too_many.status_code == 422
    assert "at most 2 texts" in too_many.json()["message"]
    assert [r.status_code for r in (bad_flag, bad_top, stray_top)] == [422, 422, 422]


def test_a_model_without_its_own_explanations_is_explained_by_occlusion(
    serving_project: ServingProject, start_server: Callable[..., RunningServer], tmp_path: Path
) -> None:
    name = f"occlude-{uuid.uuid4().hex[:6]}"
    version = serving_project.register_folder(name, code_model(tmp_path, "batch_scaled"))
    serving_project.champion(name, version)
    server = start_server(serving_project.endpoint(name))
    with server.client() as client:
        answer = client.post("/predict?explain=true", json={"text": "um dois três quatro"})
    assert answer.status_code == 200, answer.text
    explanation = answer.json()["explanation"]
    assert explanation["method"].startswith("occlusion")
    assert explanation["exact"] is False
    assert explanation["value"] == answer.json()["score"]
