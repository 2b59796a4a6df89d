"""The multi-class and regression examples through the whole loop, as a new user runs them.

`examples/digits` (scikit-learn's bundled digits, 10 classes) and `examples/diabetes` (its bundled
diabetes data, a numeric target) are copied, their data written by their own `prepare_data.py`, and
driven with the CLI and HTTP only: CT, the gate against the trivial baseline, an approval by someone
else, promotion, serving, feedback, a second commit gated against the champion and shadowed, its
promotion and hot swap, the monitor, and a rollback.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT, add_signer
from tests.serving.conftest import RunningServer, launch_server
from tests.tabular import run_trunkml
from tests.training.conftest import commit_all, git
from trunkml.scaffold.render import plan

pytestmark = pytest.mark.slow
LOAD_S = 300
"""How long a version may take to load and swap in (polling every 5 s, then the model process starts)."""


@dataclass(frozen=True)
class Example:
    name: str
    target: str
    task: str
    first: dict[str, str]
    """params.yaml of the first commit: a weaker model that still beats the trivial baseline."""
    trigger: str
    """A retraining trigger of the task, set where the first model must fire it."""


EXAMPLES = {
    "digits": Example("digits", "digit", "multiclass", {"model": "logistic_regression", "C": "0.0003"},
                      "min_accuracy: 0.95"),
    "diabetes": Example("diabetes", "progression", "regression", {"max_iter": "8"}, "max_mae: 45"),
}  # fmt: skip


def set_params(root: Path, name: str, values: dict[str, str]) -> None:
    path = root / "jobs" / name / "params.yaml"
    text = path.read_text(encoding="utf-8")
    for key, value in values.items():
        text = re.sub(rf"^{key}: [^\s#]+", f"{key}: {value}", text, count=1, flags=re.MULTILINE)
    path.write_text(text, encoding="utf-8")


def copy_example(example: Example, root: Path) -> None:
    shutil.copytree(
        REPO_ROOT / "examples" / example.name, root, ignore=shutil.ignore_patterns("data", ".trunkml", "__pycache__")
    )
    set_params(root, example.name, example.first)
    with (root / "trunkml.yaml").open("a", encoding="utf-8") as project:
        project.write(
            "approvals:\n  dev: {required: 1}\n"
            f"monitoring:\n  min_rows: 50\n  triggers: {{{example.trigger}, min_labelled: 30}}\n"
        )


def post(server: RunningServer, path: str, body: Any) -> Any:
    with server.client() as client:
        return client.post(path, content=json.dumps(body).encode(), headers={"content-type": "application/json"})


def eval_set(root: Path, name: str) -> tuple[list[dict[str, Any]], list[Any]]:
    """The frozen eval set's records and their true labels (class names) or values, read through trunkml."""
    from trunkml.config import Settings
    from trunkml.datasets import DataService
    from trunkml.datasets.schema import json_records

    loaded = DataService(Settings(project=root)).load(f"{name}-eval")
    truth = loaded.frame["label"].tolist()
    names = loaded.pointer.class_list
    return json_records(loaded.features()), [names[int(t)] for t in truth] if names else [float(t) for t in truth]


def send_with_feedback(server: RunningServer, records: list[dict[str, Any]], truth: list[Any], task: str) -> None:
    for start in range(0, len(records), 50):
        answer = post(server, "/predict", {"inputs": records[start : start + 50]})
        assert answer.status_code == 200, answer.text
        request_id = answer.json()["request_id"]
        for item, value in enumerate(truth[start : start + 50]):
            body = {"value": value} if task == "regression" else {"label": value}
            stored = post(server, "/feedback", {"request_id": request_id, "item": item, **body})
            assert stored.status_code == 201, stored.text


def test_the_examples_are_what_init_renders_for_their_task() -> None:
    for example in EXAMPLES.values():
        folder = REPO_ROOT / "examples" / example.name
        _, _, planned = plan(folder, example.name, "tabular", example.task)  # type: ignore[arg-type]
        stale = [path for path, text in planned.items() if path != "README.md" and (folder / path).read_text() != text]
        assert stale == [], f"re-render examples/{example.name} with `trunkml init --task {example.task}`"


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_an_example_goes_through_the_whole_loop(name: str, tmp_path: Path) -> None:
    example = EXAMPLES[name]
    root = tmp_path / name
    copy_example(example, root)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.org")
    git(root, "config", "user.name", "Dev")
    reviewer = add_signer(root, "reviewer")  # a person other than the author, in the committed allowed signers
    commit_all(root, "init")
    base = git(root, "rev-parse", "HEAD")
    subprocess.run([sys.executable, "prepare_data.py"], cwd=root, check=True, capture_output=True, timeout=120)
    run_trunkml(root, "data", "add", name, "--file", f"data/{name}.csv", "--target", example.target,
                "--task", example.task)  # fmt: skip
    run_trunkml(root, "data", "split", name, "--add", name)
    commit_all(root, "data")

    # commit 1: CT trains v1; the gate compares it with the trivial baseline; a person approves it
    ran = run_trunkml(root, "pipeline", "run", "--base", base, "--by", "ci-bot", "--json", check=False)
    assert ran.returncode == 1, ran.stderr  # waiting for approval
    first = json.loads(ran.stdout)
    states = {r["pipeline"]: r["state"] for r in first["results"]}
    assert states == {"workspace-cd": "succeeded", "model-ct": "succeeded", "model-cd": "waiting for approval"}
    details = {s["name"]: s["detail"] for r in first["results"] for s in r["steps"]}
    assert "PROMOTE against cold start" in details["dev: gate"]
    assert "served = offline" in details["dev: infra validation"]
    report = Path(details["dev: gate"].split("(report ", 1)[1].rstrip(")"))
    baseline = "training majority class" if example.task == "multiclass" else "training mean"
    assert f"against the {baseline}" in report.with_suffix(".md").read_text(encoding="utf-8")
    refused = run_trunkml(root, "pipeline", "model-cd", "--by", "ci-bot", check=False)
    assert refused.returncode != 0  # no approval yet
    run_trunkml(root, "approve", "1", "--env", "dev", "--key", str(reviewer))
    run_trunkml(root, "pipeline", "model-cd", "--by", "ci-bot")

    server = launch_server(root, root / "endpoints" / name / "endpoint.yaml", tmp_path)
    try:
        server.serving(1, timeout_s=LOAD_S)
        records, truth = eval_set(root, name)
        answer = post(server, "/predict", {"inputs": records[:2]}).json()["predictions"]
        if example.task == "multiclass":
            assert answer[0]["label"] in answer[0]["probabilities"]
            assert sum(answer[0]["probabilities"].values()) == pytest.approx(1.0)
            wrong = {"label": "d10"}
        else:
            assert isinstance(answer[0]["prediction"], float)
            wrong = {"label": 1}
        rid = post(server, "/predict", {"inputs": records[:1]}).json()["request_id"]
        assert post(server, "/feedback", {"request_id": rid, **wrong}).status_code == 422
        assert post(server, "/feedback", {"request_id": rid, "value": "high"}).status_code == 422

        # commit 2: a stronger model, gated against the champion and shadowed while it waits for approval
        set_params(root, name, {"model": "hist_gradient_boosting", "max_iter": "200"})
        commit_all(root, "a stronger model")
        ran = run_trunkml(root, "pipeline", "run", "--base", "HEAD~1", "--by", "ci-bot", "--json", check=False)
        assert ran.returncode == 1, ran.stderr  # waiting for approval
        second = json.loads(ran.stdout)
        gate = next(s["detail"] for r in second["results"] for s in r["steps"] if s["name"] == "dev: gate")
        assert "PROMOTE against v1" in gate, gate
        # The server follows the aliases by polling (poll_interval_s: 5); a new version's process loads and warms
        # up its explainer first, which on a busy 2-core machine takes longer than one HTTP timeout.
        server.wait_for(lambda c: c.get("/model").json()["challenger"] is not None, timeout_s=LOAD_S)
        send_with_feedback(server, records, truth, example.task)

        monitored = run_trunkml(root, "monitor", "--json", check=False)
        assert monitored.returncode == 1, monitored.stderr  # v1 is under the task's floor: retrain
        result = json.loads(monitored.stdout)
        online = next(m for m in result["online"] if m["version"] == 1 and m["route"] == "champion")
        assert online["task"] == example.task
        assert online["labelled"] == len(records)
        fired = {t["name"] for t in result["triggers"] if t["fired"]}
        assert fired == {"accuracy_floor" if example.task == "multiclass" else "mae_ceiling"}, result["triggers"]
        drift = {d["name"] for d in result["drift"]}
        expected = {"js_predicted_classes"} if example.task == "multiclass" else {"psi_prediction", "ks_prediction"}
        assert expected <= drift
        assert result["shadow"]["shadow"] == 2
        assert result["shadow"]["labelled"] == len(records)
        assert result["shadow"]["decision"]["reasons"]

        run_trunkml(root, "approve", "2", "--env", "dev", "--key", str(reviewer))
        run_trunkml(root, "pipeline", "model-cd", "--by", "ci-bot")
        server.serving(2, timeout_s=LOAD_S)
        assert post(server, "/predict", {"inputs": records[:1]}).status_code == 200

        run_trunkml(root, "rollback", "--by", "reviewer", "--reason", "the loop test")
        server.serving(1, timeout_s=LOAD_S)
        assert post(server, "/predict", {"inputs": records[:1]}).json()["version"] == 1
    finally:
        server.kill()
