"""The whole trunk-based cycle against the shared registry: an MLflow server on PostgreSQL and S3-compatible storage.

workspace-cd starts the server; CT registers through it (artifacts land in the bucket, metadata in
PostgreSQL); the gate, approvals, promotion, a server following @champion (hot-swapping under load),
and rollback all run unchanged.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import REPO_ROOT
from tests.pipelines.test_concurrency import run_workers
from tests.scaleout.conftest import BUCKET, SharedEnv, demo_project, run_trunkml, shared
from tests.serving.conftest import RunningServer, launch_server
from tests.training.conftest import commit_all, git
from trunkml.config import Settings
from trunkml.demo.demoproject import MODEL
from trunkml.demo.demoserver import LoadCounter
from trunkml.registry import Registry, register
from trunkml.registry.aliases import current
from trunkml.registry.events import history
from trunkml.registry.trackingserver import stop_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shared_project(shared_stores: SharedEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo project (synthetic data) whose `shared` environment is the MLflow server on PostgreSQL + S3."""
    root = demo_project(tmp_path_factory.mktemp("shared") / "ws", shared_stores)
    yield root
    stop_server(Settings(project=root), "shared")


def server_group(settings: Settings) -> list[str]:
    """The command lines of the processes in the started MLflow server's process group."""
    leader = int((settings.home_dir / "servers" / "mlflow-shared.pid").read_text(encoding="utf-8"))
    commands = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            group = int(stat.read_text(encoding="utf-8").rsplit(")", 1)[1].split()[2])
            if group == leader:
                commands.append((stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, ValueError, IndexError):
            continue  # the process ended while we looked
    return commands


@pytest.mark.timeout(600)  # the full cycle on the MLflow server, PostgreSQL and S3
def test_the_cycle_runs_unchanged_on_the_shared_registry(
    shared_project: Path, shared_stores: SharedEnv, tmp_path: Path
) -> None:
    root = shared_project
    provision = run_trunkml(root, {"TRUNKML_PROJECT": str(root), **shared_stores.env()},
                            "pipeline", "workspace-cd", "--env", "shared")  # fmt: skip
    assert "started mlflow server" in provision.stdout
    assert f"bucket {BUCKET} created" in provision.stdout
    again = run_trunkml(root, {"TRUNKML_PROJECT": str(root), **shared_stores.env()},
                        "pipeline", "workspace-cd", "--env", "shared")  # fmt: skip
    assert "is running" in again.stdout  # idempotent: the running server is left alone
    group = server_group(Settings(project=root))
    assert any("mlflow" in command and "server" in command for command in group)
    assert not [command for command in group if "huey" in command or "_job_runner" in command]  # no job runner

    env = shared(root, shared_stores)
    run_trunkml(root, env, "ct", MODEL)
    run_trunkml(root, env, "evaluate")
    validated = run_trunkml(root, env, "infra-validate", "1")  # the sandbox server loads v1 through the server
    assert f"infra validation PASSED {MODEL} v1" in validated.stdout
    run_trunkml(root, env, "approve", "1", "--by", "reviewer")
    run_trunkml(root, env, "promote", "1", "--by", "reviewer")

    following = {k: v for k, v in env.items() if k != "TRUNKML_PROJECT"}
    server: RunningServer = launch_server(
        root, root / "endpoints" / MODEL / "endpoint.yaml", tmp_path, extra_env=following
    )
    try:
        server.serving(1, timeout_s=120)
        run_trunkml(root, env, "data", "synth", "--rows", "3000", "--seed", "8", "--add", "demo-tweets")
        commit_all(root, "B: more training data")
        run_trunkml(root, env, "ct", MODEL)
        gate = run_trunkml(root, env, "evaluate", "--fail-on-reject")
        assert "PROMOTE" in gate.stdout
        run_trunkml(root, env, "infra-validate", "2")
        run_trunkml(root, env, "approve", "2", "--by", "reviewer")
        load = LoadCounter(server.url)
        try:
            run_trunkml(root, env, "promote", "2", "--by", "reviewer")
            server.serving(2, timeout_s=60)
            time.sleep(0.5)
        finally:
            load.stop()
        assert load.failed == 0
        assert load.versions[-1:] == [2]
        assert load.ok > 0
        run_trunkml(root, env, "rollback", "--by", "on-call", "--reason", "scale-out test")
        server.serving(1, timeout_s=60)
        history = run_trunkml(root, env, "history", "--json").stdout
        assert [kind in history for kind in ("promote", "rollback")] == [True, True]
    finally:
        server.kill()

    keys = shared_stores.objects()
    assert any(key.startswith("mlflow/") and key.endswith("MLmodel") for key in keys)  # the models are in S3
    assert any(key.endswith("monitoring/profile.json") for key in keys)
    assert not (root / ".trunkml" / "artifacts").exists()  # nothing went to local disk
    with psycopg.connect(shared_stores.backend) as db, db.cursor() as cursor:
        cursor.execute("SELECT version FROM model_versions WHERE name = %s ORDER BY version", (MODEL,))
        assert [row[0] for row in cursor.fetchall()] == [1, 2]
        cursor.execute("SELECT alias, version FROM registered_model_aliases WHERE name = %s", (MODEL,))
        assert dict(cursor.fetchall())["champion"] == 1


@pytest.fixture
def promo_on_shared(shared_project: Path, shared_stores: SharedEnv, tmp_path: Path) -> Path:
    """A second project on the same server: promo-model v1 and v2, copies of the trained model's version 1."""
    root = tmp_path / "promo"
    root.mkdir()
    (root / "trunkml.yaml").write_text("name: promo\nmodel: promo-model\n", encoding="utf-8")
    registry = Registry(Settings(project=root, mlflow_tracking_uri=shared_stores.tracking_uri))
    base = registry.client.get_model_version(MODEL, "1")
    for _ in range(2):
        register(registry, "promo-model", str(base.source), str(base.run_id), dict(base.tags or {}), base.model_id)
    return root


@pytest.mark.timeout(900)  # 160 moves that each wait for the cross-machine lease (p95 about a minute under load)
def test_concurrent_alias_moves_and_registrations_on_the_shared_registry(
    promo_on_shared: Path, shared_stores: SharedEnv
) -> None:
    env = {"TRUNKML_PROJECT": str(promo_on_shared), "MLFLOW_TRACKING_URI": shared_stores.tracking_uri}
    moved = run_workers(promo_on_shared, processes=16, rounds=10, mode="champion", env=env)
    assert [error for r in moved for error in r["errors"]] == []
    assert sum(int(r["moves"]) for r in moved) == 160
    registry = Registry(Settings(project=promo_on_shared, mlflow_tracking_uri=shared_stores.tracking_uri))
    events = [e for e in history(registry, "promo-model") if e.kind == "move"]
    assert len(events) == 160
    assert all(later.from_version == earlier.to_version for earlier, later in itertools.pairwise(events))
    assert events[-1].to_version == current(registry, "promo-model", "champion")

    registered = run_workers(promo_on_shared, processes=16, rounds=5, mode="register", env=env)
    assert [error for r in registered for error in r["errors"]] == []
    versions = [v for r in registered for v in r["versions"]]
    assert len(versions) == 80
    assert len(set(versions)) == 80  # 80/80 unique
    assert sorted(versions) == list(range(3, 83))
    lat = sorted(x for r in moved for x in r["latencies"])
    print(
        f"alias moves: 160/160, p50 {lat[80] * 1000:.0f} ms, p95 {lat[151] * 1000:.0f} ms; registrations 80/80 unique"
    )


HOLD = """\
import os, time
from pathlib import Path
from hatedetection.train import train as real_train

def train(job):
    if os.environ.get("FAULT_RELEASE"):
        Path(os.environ["FAULT_STARTED"]).write_text("training")
        while not Path(os.environ["FAULT_RELEASE"]).exists():
            time.sleep(0.1)
    return real_train(job)
"""


def test_the_tracking_server_dying_mid_ct_is_exit_3_and_a_retry_succeeds(
    shared_project: Path, shared_stores: SharedEnv, tmp_path: Path
) -> None:
    provision = {"TRUNKML_PROJECT": str(shared_project), **shared_stores.env()}
    run_trunkml(shared_project, provision, "pipeline", "workspace-cd", "--env", "shared")
    root = tmp_path / "fault"
    root.mkdir()
    (root / "trunkml.yaml").write_text("name: fault\nmodel: fault-model\n", encoding="utf-8")
    (root / "src").mkdir()
    (root / "src" / "faulthooks.py").write_text(HOLD, encoding="utf-8")
    shutil.copytree(REPO_ROOT / "src" / "hatedetection", root / "src" / "hatedetection")  # the real entrypoint
    job = root / "jobs" / "fault-model"
    job.mkdir(parents=True)
    (job / "train.yaml").write_text(
        "model: fault-model\nentrypoint: faulthooks:train\ncode_dir: src\ninputs: {train: d}\n"
        "split: {seed: 1, eval_fraction: 0.25}\nparams: params.yaml\n",
        encoding="utf-8",
    )
    (job / "params.yaml").write_text("C: 4.0\ncv_folds: 2\n", encoding="utf-8")
    env = {"TRUNKML_PROJECT": str(root), "TRUNKML_ENV": "shared", "MLFLOW_TRACKING_URI": shared_stores.tracking_uri}
    run_trunkml(root, env, "data", "synth", "--rows", "300", "--seed", "4", "--add", "d")
    (root / ".gitignore").write_text(".trunkml/\n__pycache__/\n", encoding="utf-8")
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.org")
    git(root, "config", "user.name", "Dev")
    commit_all(root, "fault project")

    started, release = tmp_path / "started", tmp_path / "release"
    held = {**env, "FAULT_STARTED": str(started), "FAULT_RELEASE": str(release),
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0"}  # fmt: skip
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TRUNKML_", "MLFLOW_", "AWS_"))}
    ct = subprocess.Popen([sys.executable, "-m", "trunkml", "ct", "fault-model"], cwd=root, env={**clean, **held},
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 120
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert started.exists(), "training never started"
    assert stop_server(Settings(project=shared_project), "shared")  # the server dies mid-CT
    release.write_text("go")
    out, err = ct.communicate(timeout=300)
    assert ct.returncode == 3, out + err
    assert "stopped answering while training; the run did not finish" in err

    restarted = run_trunkml(shared_project, provision, "pipeline", "workspace-cd", "--env", "shared")
    assert "started mlflow server" in restarted.stdout
    retried = run_trunkml(root, env, "ct", "fault-model", "--json")
    assert json.loads(retried.stdout)["version"] == 1, retried.stdout[-2000:]
    registry = Registry(Settings(project=root, mlflow_tracking_uri=shared_stores.tracking_uri))
    versions = registry.client.search_model_versions("name='fault-model'")
    assert [int(v.version) for v in versions] == [1]
    assert all(v.tags.get("trunkml.model_digest") and v.tags.get("trunkml.git_sha") for v in versions)
