"""Two machines promote two versions of one model at once against one MLflow server on PostgreSQL, 20 times.

Each round starts two real `trunkml promote` processes with different ``TRUNKML_HOME`` folders (so no
local lock file can serialise them), at the same moment. The lease the registry's database decides
lets one through; the other waits for it and then fails cleanly (its decision was made against the
champion that was just replaced). After every round the alias, the history chain and a running
`trunkml serve` (which verifies the promotion chain before it swaps) agree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scaleout.conftest import SharedEnv, demo_project, fresh_database, run_trunkml, shared
from tests.serving.conftest import free_port, launch_server
from tests.training.conftest import commit_all
from trunkml.config import Settings
from trunkml.demo.demoproject import MODEL
from trunkml.registry import Registry
from trunkml.registry.events import chain, verify_chain
from trunkml.registry.trackingserver import stop_server

pytestmark = pytest.mark.slow
ROUNDS = 20


@pytest.fixture(scope="module")
def racing(s3_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, SharedEnv]]:
    """The demo project on its own PostgreSQL database: v1 champion; v2 and v3 each PROMOTE against v1, approved."""
    with fresh_database("trunkml_race") as database:
        stores = SharedEnv(f"http://127.0.0.1:{free_port()}", database, s3_server, "trunkml-race")
        yield from _racing_project(tmp_path_factory.mktemp("race") / "ws", stores)


def _racing_project(workspace: Path, stores: SharedEnv) -> Iterator[tuple[Path, SharedEnv]]:
    root = demo_project(workspace, stores, infra_validation=False)
    run_trunkml(root, {"TRUNKML_PROJECT": str(root), **stores.env()}, "pipeline", "workspace-cd", "--env", "shared")
    env = shared(root, stores)
    run_trunkml(root, env, "ct", MODEL)
    run_trunkml(root, env, "evaluate")
    run_trunkml(root, env, "approve", "1", "--by", "reviewer")
    run_trunkml(root, env, "promote", "1", "--by", "reviewer")
    for rows, seed, version in ((3000, 8, 2), (3500, 12, 3)):
        run_trunkml(root, env, "data", "synth", "--rows", str(rows), "--seed", str(seed), "--add", "demo-tweets")
        commit_all(root, f"more training data for v{version}")
        run_trunkml(root, env, "ct", MODEL)
        gate = run_trunkml(root, env, "evaluate", "--challenger", str(version), "--fail-on-reject")
        assert "PROMOTE" in gate.stdout
        run_trunkml(root, env, "approve", str(version), "--by", "reviewer")
    try:
        yield root, stores
    finally:
        stop_server(Settings(project=root), "shared")


def promote_at_once(root: Path, stores: SharedEnv, homes: list[Path]) -> list[subprocess.CompletedProcess[str]]:
    """`trunkml promote 2` and `trunkml promote 3`, started together from two homes (two machines)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TRUNKML_", "MLFLOW_", "AWS_"))}
    go = root / f"go-{uuid.uuid4().hex[:6]}"
    starter = "import os, sys, time\nwhile not os.path.exists(sys.argv[1]): time.sleep(0.01)\n" \
              "from trunkml.cli.main import run\nsys.exit(run(sys.argv[2:]))\n"  # fmt: skip
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", starter, str(go), "promote", str(version), "--by", f"runner-{version}", "--json"],
            cwd=root,
            env={**clean, **shared(root, stores), "TRUNKML_HOME": str(home)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for version, home in zip((2, 3), homes, strict=True)
    ]
    time.sleep(4)  # both have imported trunkml and MLflow and are waiting for the starting signal
    go.write_text("go")
    results = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        results.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return results


@pytest.mark.timeout(1800)
def test_twenty_simultaneous_promotions_one_wins_the_other_fails_cleanly(
    racing: tuple[Path, SharedEnv], tmp_path: Path
) -> None:
    root, stores = racing
    env = shared(root, stores)
    homes = [tmp_path / "runner-a", tmp_path / "runner-b"]
    following = {k: v for k, v in env.items() if k != "TRUNKML_PROJECT"}
    endpoint = tmp_path / "endpoint.yaml"
    endpoint.write_text(f"model: {MODEL}\nfollow: {{poll_interval_s: 0.5}}\n", encoding="utf-8")
    server = launch_server(root, endpoint, tmp_path, extra_env=following)
    registry = Registry(Settings(project=root, env="shared", mlflow_tracking_uri=stores.tracking_uri))
    winners: list[int] = []
    try:
        server.serving(1, timeout_s=120)
        for _ in range(ROUNDS):
            results = promote_at_once(root, stores, homes)
            codes = sorted(r.returncode for r in results)
            assert codes == [0, 1], [(r.returncode, r.stderr[-600:]) for r in results]
            won = next(r for r in results if r.returncode == 0)
            lost = next(r for r in results if r.returncode == 1)
            winner = int(json.loads(won.stdout)["version"])
            assert "refused" in lost.stderr
            assert "was compared with champion 1, but the champion is now" in lost.stderr
            winners.append(winner)
            status = json.loads(run_trunkml(root, env, "status", "--json").stdout)
            assert status["champion"]["version"] == winner
            assert status["champion_unverified"] == []
            events = chain(registry, MODEL)
            assert verify_chain(events) == []
            assert [e.to_version for e in events if e.alias == "champion" and e.status == "FINISHED"][-1] == winner
            server.serving(winner, timeout_s=60)
            run_trunkml(root, env, "rollback", "--to", "1", "--by", "race-test")
            server.serving(1, timeout_s=60)
    finally:
        server.kill()
    assert set(winners) <= {2, 3}
    assert len(winners) == ROUNDS
    assert run_trunkml(root, env, "audit", check=False).returncode == 0
    assert "unverified" not in server.logs()
