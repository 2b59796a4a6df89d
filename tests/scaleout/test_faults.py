"""Faults in the shared stores: PostgreSQL going away mid-promotion, the artifact store unreachable while serving.

The MLflow server runs on a PostgreSQL cluster of the test's own, which the test stops or restarts
while a real `trunkml promote` / `trunkml rollback` is held at a chosen point (just before or just
after @champion moves): the move either fully happened or did not, and afterwards the alias,
`trunkml status`, `trunkml history` and the database all agree, and the next command goes through.

The server reaches the S3 stand-in through a link the test can cut: with the artifact store gone, a
model server keeps answering with its current model and says why the new champion is not loaded,
then swaps by itself once the store is back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.scaleout.conftest import Outage, PrivatePostgres, SharedEnv, demo_project, run_trunkml, shared
from tests.serving.conftest import free_port, launch_server
from tests.training.conftest import commit_all
from trunkml.config import Settings
from trunkml.demo.demoproject import MODEL
from trunkml.demo.demoserver import LoadCounter
from trunkml.registry.trackingserver import stop_server
from trunkml.release.promotion import move_champion

pytestmark = pytest.mark.slow

HELD = """\
import os, sys, time
from pathlib import Path
from trunkml.cli.main import run
from trunkml.release import promotion

real_move, where = promotion.move_alias, os.environ["HOLD_AT"]

def hold():
    Path(os.environ["HOLD_STARTED"]).write_text(where)
    while not Path(os.environ["HOLD_RELEASE"]).exists():
        time.sleep(0.05)

def held_move(registry, model, alias, version):
    if alias == "champion" and where == "before-alias":
        hold()
    real_move(registry, model, alias, version)
    if alias == "champion" and where == "after-alias":
        hold()

promotion.move_alias = held_move
sys.exit(run(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def artifact_link(s3_server: str) -> Iterator[Outage]:
    """The MLflow server's way to the S3 stand-in, which a test can cut."""
    link = Outage(int(s3_server.rsplit(":", 1)[1]))
    yield link
    link.cut()


@pytest.fixture(scope="module")
def restartable(
    private_postgres: PrivatePostgres, artifact_link: Outage, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, SharedEnv]]:
    """The demo project on an MLflow server over the private cluster: v1 champion, v2 gated and approved."""
    stores = SharedEnv(f"http://127.0.0.1:{free_port()}", private_postgres.uri, artifact_link.url, "trunkml-faults")
    root = demo_project(tmp_path_factory.mktemp("restart") / "ws", stores, infra_validation=False)
    run_trunkml(root, {"TRUNKML_PROJECT": str(root), **stores.env()}, "pipeline", "workspace-cd", "--env", "shared")
    env = shared(root, stores)
    run_trunkml(root, env, "ct", MODEL)
    run_trunkml(root, env, "evaluate")
    run_trunkml(root, env, "approve", "1", "--by", "reviewer")
    run_trunkml(root, env, "promote", "1", "--by", "reviewer")
    run_trunkml(root, env, "data", "synth", "--rows", "3000", "--seed", "8", "--add", "demo-tweets")
    commit_all(root, "B: more training data")
    run_trunkml(root, env, "ct", MODEL)
    assert "PROMOTE" in run_trunkml(root, env, "evaluate", "--fail-on-reject").stdout
    run_trunkml(root, env, "approve", "2", "--by", "reviewer")
    yield root, stores
    stop_server(Settings(project=root), "shared")


def held(
    root: Path, stores: SharedEnv, tmp_path: Path, where: str, *args: str, retries: int = 0
) -> tuple[subprocess.Popen[str], Path]:
    """Start `trunkml ARGS` held at ``where`` (MLflow's HTTP client retrying ``retries`` times); return it once
    it is there, and the file that releases it."""
    script, started, release = tmp_path / "held.py", tmp_path / f"started-{where}", tmp_path / f"release-{where}"
    script.write_text(HELD, encoding="utf-8")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TRUNKML_", "MLFLOW_", "AWS_"))}
    env = {**clean, **shared(root, stores), "HOLD_AT": where, "HOLD_STARTED": str(started),
           "HOLD_RELEASE": str(release), "MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(retries),
           "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1"}  # fmt: skip
    process = subprocess.Popen([sys.executable, str(script), *args], cwd=root, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 120
    while not started.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started.exists(), f"never reached {where}: {process.communicate(timeout=30)}"
    return process, release


def agreed(root: Path, stores: SharedEnv, database: str) -> tuple[int, list[tuple[str, int | None, int | None]]]:
    """@champion and the history, after checking that the database, status and history all say the same."""
    env = shared(root, stores)
    events = json.loads(run_trunkml(root, env, "history", "--json").stdout)
    moves = [(e["kind"], e["from_version"], e["to_version"]) for e in events if e["kind"] in {"promote", "rollback"}]
    status = run_trunkml(root, env, "status", "--json")
    champion = int(json.loads(status.stdout)["champion"]["version"])
    with psycopg.connect(database) as db, db.cursor() as cursor:
        cursor.execute("SELECT version FROM registered_model_aliases WHERE name = %s AND alias = 'champion'", (MODEL,))
        row = cursor.fetchone()
    assert row is not None
    assert row[0] == champion
    assert moves[-1][2] == champion, moves  # the history's last move ends where @champion is
    return champion, moves


def test_postgres_down_before_the_alias_moves_means_it_did_not_happen(
    restartable: tuple[Path, SharedEnv], private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    root, stores = restartable
    assert agreed(root, stores, private_postgres.uri) == (1, [("promote", None, 1)])
    process, release = held(root, stores, tmp_path, "before-alias", "promote", "2", "--by", "reviewer")
    private_postgres.stop()
    try:
        release.write_text("go")
        out, err = process.communicate(timeout=300)
        provision = run_trunkml(root, {"TRUNKML_PROJECT": str(root), **stores.env()},
                                "pipeline", "workspace-cd", "--env", "shared", check=False)  # fmt: skip
        assert provision.returncode == 3, provision.stdout + provision.stderr  # not "is running"
        assert "its database is unreachable" in provision.stdout + provision.stderr
    finally:
        private_postgres.start()
    assert process.returncode == 3, out + err
    assert "the move either took effect or did not" in err
    assert agreed(root, stores, private_postgres.uri) == (1, [("promote", None, 1)])  # it did not happen

    run_trunkml(root, shared(root, stores), "promote", "2", "--by", "reviewer")  # the retry goes through
    assert agreed(root, stores, private_postgres.uri) == (2, [("promote", None, 1), ("promote", 1, 2)])


def test_postgres_down_after_the_alias_moved_means_it_happened(
    restartable: tuple[Path, SharedEnv], private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    root, stores = restartable
    champion, before = agreed(root, stores, private_postgres.uri)
    assert champion == 2
    process, release = held(root, stores, tmp_path, "after-alias", "rollback", "--by", "on-call")
    private_postgres.stop()
    try:
        release.write_text("go")
        out, err = process.communicate(timeout=300)
    finally:
        private_postgres.start()
    assert process.returncode == 3, out + err
    assert agreed(root, stores, private_postgres.uri) == (1, [*before, ("rollback", 2, 1)])  # it happened


def test_postgres_restarting_mid_promotion_is_ridden_out(
    restartable: tuple[Path, SharedEnv], private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    root, stores = restartable
    champion, before = agreed(root, stores, private_postgres.uri)
    assert champion == 1
    process, release = held(root, stores, tmp_path, "after-alias", "promote", "2", "--by", "reviewer", retries=3)
    private_postgres.restart()
    release.write_text("go")
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, out + err
    assert agreed(root, stores, private_postgres.uri) == (2, [*before, ("promote", 1, 2)])
    with psycopg.connect(private_postgres.uri) as db, db.cursor() as cursor:  # every intent is settled
        cursor.execute("SELECT count(*) FROM runs WHERE status = 'RUNNING' AND name ~ '^(promote|rollback) '")
        assert cursor.fetchone() == (0,)


def test_an_unreachable_artifact_store_defers_the_swap_and_the_current_model_keeps_serving(
    restartable: tuple[Path, SharedEnv], private_postgres: PrivatePostgres, artifact_link: Outage, tmp_path: Path
) -> None:
    root, stores = restartable
    serving, _ = agreed(root, stores, private_postgres.uri)
    other = 1 if serving == 2 else 2
    following = {k: v for k, v in shared(root, stores).items() if k != "TRUNKML_PROJECT"}
    fail_fast = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0"}
    server = launch_server(root, root / "endpoints" / MODEL / "endpoint.yaml", tmp_path,
                           extra_env={**following, **fail_fast})  # fmt: skip
    try:
        server.serving(serving, timeout_s=120)
        load = LoadCounter(server.url)
        try:
            artifact_link.cut()
            refused = run_trunkml(root, {**shared(root, stores), **fail_fast}, "rollback", "--by", "on-call",
                                  "--to", str(other), check=False)  # fmt: skip
            assert refused.returncode == 3, refused.stdout + refused.stderr  # cannot verify the files: no move
            assert "could not download model" in refused.stderr
            settings = Settings(project=root, mlflow_tracking_uri=stores.tracking_uri)
            # an operator's rollback to a former champion, without the checks that need the store
            move_champion(settings, other, "release-bot", "moved while the artifact store is down", kind="rollback")

            def deferred(client: httpx.Client) -> bool:
                error = client.get("/model").json().get("last_error") or ""
                return "artifact store" in error

            server.wait_for(deferred, timeout_s=90)  # the reason is visible on /model
            assert load.versions == [serving]  # ... and the current model kept answering
            assert load.failed == 0
            artifact_link.restore()
            server.serving(other, timeout_s=120)  # the deferred swap happens by itself
            with server.client() as client:
                assert client.get("/model").json().get("last_error") is None
        finally:
            artifact_link.restore()
            load.stop()
        assert load.failed == 0
        assert load.versions == [serving, other]
    finally:
        server.kill()
