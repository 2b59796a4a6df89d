"""The transformer family through the whole loop on the CPU: CT → gate → approve → promote → serve (batched)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import Project
from tests.pipelines.conftest import PIPES_JOB, PIPES_PROJECT, scaffold
from tests.serving.conftest import free_port

pytest.importorskip("torch", reason="the transformer family needs the extra: make install-transformers")
pytest.importorskip("transformers", reason="the transformer family needs the extra: make install-transformers")

TINY_BERT = {
    "family": "transformer",
    "baseline": "scratch",
    "scratch": {"hidden_size": 32, "layers": 2, "heads": 2, "intermediate_size": 64, "vocab_size": 1500},
    "epochs": 3,
    "batch_size": 32,
    "learning_rate": 3e-3,
    "max_length": 48,
    "window_overlap": 8,
    "threshold_objective": "f1",
    "precision_floor": 0.6,
}
ENDPOINT = {"model": "pipes-model", "follow": {"poll_interval_s": 0.2}, "batching": {"max_batch_size": 16}}


@pytest.fixture
def transformer_project(make_project: Callable[..., Project]) -> Project:
    data = [
        ("synth", "--rows", "1200", "--seed", "5", "--add", "pool"),
        ("split", "pool", "--eval-fraction", "0.25", "--add", "pool"),
    ]
    job = PIPES_JOB.replace("train: tiny", "train: pool-train")
    project = scaffold(make_project(project_yaml=PIPES_PROJECT), "pipes-model", job, data)
    (project.root / "jobs/pipes-model/params.yaml").write_text(yaml.safe_dump(TINY_BERT), encoding="utf-8")
    (project.root / "endpoints/pipes-model").mkdir(parents=True)
    (project.root / "endpoints/pipes-model/endpoint.yaml").write_text(yaml.safe_dump(ENDPOINT), encoding="utf-8")
    subprocess.run(["git", "add", "-A"], cwd=project.root, check=True)
    command = ["git", "-c", "user.name=Dev", "-c", "user.email=dev@example.org", "commit", "-qm", "B: transformer"]
    subprocess.run(command, cwd=project.root, check=True)
    return project


def _serve(project: Project, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRUNKML_", "MLFLOW_"))}
    env["TRUNKML_PROJECT"] = str(project.root)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "trunkml", "serve", "--port", str(port)],
            cwd=project.root, env=env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return process, f"http://127.0.0.1:{port}"


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> dict[str, object]:
    with httpx.Client(base_url=url, timeout=10) as client:
        for _ in range(1200):
            try:
                ready = client.get("/readyz")
                if ready.status_code == 200:
                    return dict(ready.json())
            except httpx.TransportError:
                pass
            assert process.poll() is None, log.read_text(encoding="utf-8")
            time.sleep(0.1)
    raise AssertionError(log.read_text(encoding="utf-8"))


def test_a_tiny_bert_trains_passes_the_gate_and_serves_batched(transformer_project: Project, tmp_path: Path) -> None:
    project = transformer_project
    trained = project.cli("ct", "pipes-model", "--json")
    assert trained.code == 0, trained.stderr
    result = trained.json()
    assert result["version"] == 1
    assert result["metrics"]["recall"] > 0.5
    shown = project.cli("models", "show", "1", "--json").json()
    files = {Path(name).name for name in shown["artifact_digests"]}
    assert {"model.safetensors", "tokenizer.json", "classifier.json", "config.json"} <= files
    assert not any(name.endswith((".bin", ".pkl", ".pt", ".pth")) for name in files)
    assert shown["params"]["trunkml.model.baseline_kind"] == "scratch"

    waiting = project.cli("pipeline", "model-cd", "1", "--by", "ci-bot", "--json")
    assert waiting.code == 1, waiting.stdout  # the cold-start gate passed; a person must approve
    cd = {step["name"]: step["status"] for step in waiting.json()["steps"]}
    assert cd["dev: gate"] == "ok"
    assert project.cli("approve", "1", "--key", str(project.signer("reviewer"))).code == 0
    promoted = project.cli("pipeline", "model-cd", "1", "--by", "ci-bot")
    assert promoted.code == 0, promoted.stdout + promoted.stderr

    log = tmp_path / "server.log"
    process, url = _serve(project, log)
    try:
        assert _wait_ready(url, process, log)["version"] == 1
        texts = [f"mensagem número {i} para o modelo" for i in range(40)]
        with httpx.Client(base_url=url, timeout=30) as client:
            batch = client.post("/predict", json={"texts": texts})
            assert batch.status_code == 200, batch.text
            assert len(batch.json()["predictions"]) == 40
            with ThreadPoolExecutor(8) as pool:  # concurrent single texts: the micro-batcher groups them
                singles = list(pool.map(lambda t: client.post("/predict", json={"text": t}), texts))
        assert all(answer.status_code == 200 for answer in singles)
        for answer, expected in zip(singles, batch.json()["predictions"], strict=True):
            assert answer.json()["version"] == 1
            assert answer.json()["score"] == pytest.approx(expected["score"], abs=1e-5)
            assert answer.json()["label"] == expected["label"]
    finally:
        process.terminate()
        process.wait(30)


BLOCK_TORCH = """\
import sys
from importlib.abc import MetaPathFinder

class NotInstalled(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"torch", "transformers"}:
            raise ModuleNotFoundError(f"No module named '{name}'", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
from trunkml.cli.main import entrypoint
sys.argv = ["trunkml", *sys.argv[1:]]
entrypoint()
"""


def test_without_the_extra_ct_exits_2_with_the_install_command_and_registers_nothing(
    transformer_project: Project, tmp_path: Path
) -> None:
    script = tmp_path / "without_torch.py"
    script.write_text(BLOCK_TORCH, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRUNKML_", "MLFLOW_"))}
    env.update(TRUNKML_PROJECT=str(transformer_project.root), COLUMNS="300")
    refused = subprocess.run(
        [sys.executable, str(script), "ct", "pipes-model"], cwd=transformer_project.root, env=env,
        capture_output=True, text=True,
    )  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    assert "the transformer model family needs torch, transformers, which are not installed" in refused.stderr
    assert "pip install 'trunkml[transformers]'" in refused.stderr
    assert transformer_project.cli("models", "list", "--json").json() == []
