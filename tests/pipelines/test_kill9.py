"""kill -9 at the worst moments: during CT, during registration, during promotion and during a server swap.

Each real `trunkml` process is held at the chosen point (a test-only wrapper patches one function to
wait there), killed with SIGKILL, and then the state is checked: no version without lineage, no alias
move without a history event that says so, no server without a model. Every retry succeeds. The test
prints the fault x outcome table.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import Project
from tests.pipelines.conftest import git
from tests.serving.conftest import free_port
from trunkml.registry import Registry
from trunkml.registry import lineage as tags
from trunkml.registry.aliases import current
from trunkml.registry.events import history

pytestmark = pytest.mark.slow
MODEL = "promo-model"

HELD = """\
import os, sys, time
from pathlib import Path

# Model processes start through multiprocessing, which imports this file again: act only as the main script.
if __name__ == "__main__":
    at = os.environ["HOLD_AT"]

    def hold():
        Path(os.environ["HOLD_STARTED"]).write_text(at)
        while True:
            time.sleep(1)  # SIGKILL arrives here

    if at == "training":
        import trunkml.training.trainer as runner
        runner._call_user_code = lambda *args, **kwargs: hold()
    elif at == "registration":  # the version exists, with its lineage tags; @challenger is not set yet
        from mlflow.tracking import MlflowClient
        real_alias = MlflowClient.set_registered_model_alias
        def held_alias(self, name, alias, version):
            if alias == "challenger":
                hold()
            return real_alias(self, name, alias, version)
        MlflowClient.set_registered_model_alias = held_alias
    elif at in ("promotion: before the alias moves", "promotion: after the alias moved"):
        from trunkml.release import promotion
        real_move = promotion.move_alias
        def held_move(registry, model, alias, version):
            if alias == "champion" and at.endswith("moves"):
                hold()
            real_move(registry, model, alias, version)
            if alias == "champion" and at.endswith("moved"):
                hold()
        promotion.move_alias = held_move
    elif at == "server swap":
        from trunkml.serving import follower
        real_load = follower.load_candidate
        def held_load(registry, name, version, *args, **kwargs):
            if version == int(os.environ["HOLD_VERSION"]):
                hold()
            return real_load(registry, name, version, *args, **kwargs)
        follower.load_candidate = held_load

    from trunkml.cli.main import run
    sys.exit(run(sys.argv[1:]))
"""


class Faults:
    """Runs held trunkml processes against ``project`` and kills them."""

    def __init__(self, project: Project, tmp_path: Path) -> None:
        self.project = project
        self.tmp = tmp_path
        self.script = tmp_path / "held.py"
        self.script.write_text(HELD, encoding="utf-8")
        self.table: list[tuple[str, str]] = []
        self.left_behind: list[int] = []

    def env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, "TRUNKML_PROJECT": str(self.project.root),
                "TRUNKML_HOME": str(self.project.root / ".trunkml"), **extra}  # fmt: skip

    def kill_at(self, at: str, *args: str, **extra: str) -> None:
        started, log = self.tmp / f"started-{len(self.table)}", self.tmp / f"held-{len(self.table)}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen([sys.executable, str(self.script), *args], cwd=self.project.root,
                                       env=self.env(HOLD_AT=at, HOLD_STARTED=str(started), **extra),
                                       stdout=sink, stderr=subprocess.STDOUT)  # fmt: skip
        deadline = time.monotonic() + 180
        while not started.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if not started.exists():
            process.kill()
        assert started.exists(), f"never reached {at} (exit {process.poll()}): {log.read_text()[-1500:]}"
        family = descendants(process.pid)
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        self.left_behind = family

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A retry or a next step, as the user runs it (in this process: only the killed ones need their own)."""
        result = self.project.cli(*args)
        return subprocess.CompletedProcess(["trunkml", *args], result.code, result.stdout, result.stderr)

    def cli_process(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "trunkml", *args], cwd=self.project.root, env=self.env(),
                              capture_output=True, text=True, timeout=600)  # fmt: skip


def descendants(pid: int) -> list[int]:
    """Every living process below ``pid`` (children, grandchildren, ...), from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def registry(project: Project) -> Registry:
    return Registry(project.settings())


def no_half_state(project: Project) -> None:
    """Every version has its lineage; @champion is where the history's last move says."""
    reg = registry(project)
    for version in reg.client.search_model_versions(f"name='{MODEL}'"):
        found = version.tags or {}
        assert found.get(tags.GIT_SHA), f"v{version.version} has no commit"
        assert found.get(tags.MODEL_DIGEST), f"v{version.version} has no model digest"
        assert json.loads(found.get(tags.ARTIFACT_DIGESTS, "{}")), f"v{version.version} has no artifact digests"
    moves = [e for e in history(reg, MODEL) if e.kind in {"promote", "rollback", "move"}]
    champion = current(reg, MODEL, "champion")
    assert (moves[-1].to_version if moves else None) == champion, (champion, moves[-3:])


def test_kill_9_at_every_step_leaves_no_half_state_and_every_retry_succeeds(
    promo: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    faults = Faults(promo, tmp_path)
    versions = lambda: len(registry(promo).client.search_model_versions(f"name='{MODEL}'"))  # noqa: E731

    params = promo.root / "jobs" / MODEL / "params.yaml"
    params.write_text(params.read_text(encoding="utf-8") + "\nC: 3.0\n", encoding="utf-8")
    git(promo, "commit", "-qam", "C: new params")
    before = versions()
    faults.kill_at("training", "ct", MODEL)
    assert versions() == before  # nothing registered
    no_half_state(promo)
    retried = faults.cli("ct", MODEL, "--json")
    assert retried.returncode == 0, retried.stderr
    assert json.loads(retried.stdout)["reused"] is False
    faults.table.append(("kill -9 during CT (training)", f"no version; retry registered v{before + 1}"))

    params.write_text(params.read_text(encoding="utf-8") + "\nmax_iter: 1500\n", encoding="utf-8")
    git(promo, "commit", "-qam", "D: more params")
    faults.kill_at("registration", "ct", MODEL)
    created = versions()
    assert created == before + 2  # the version was created whole (lineage tags in the same call) ...
    no_half_state(promo)
    assert current(registry(promo), MODEL, "challenger") != created  # ... but not yet aliased
    again = faults.cli("ct", MODEL, "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["version"] == created
    assert current(registry(promo), MODEL, "challenger") == created  # the retry set @challenger
    faults.table.append(("kill -9 during registration", f"v{created} whole, not aliased; retry reused it, aliased"))

    assert faults.cli("evaluate", "--challenger", "1").returncode == 0
    assert faults.cli("promote", "1", "--by", "reviewer").returncode == 0
    assert faults.cli("evaluate", "--challenger", "2").returncode == 0
    faults.kill_at("promotion: before the alias moves", "promote", "2", "--by", "reviewer")
    assert current(registry(promo), MODEL, "champion") == 1
    no_half_state(promo)
    assert faults.cli("promote", "2", "--by", "reviewer").returncode == 0
    no_half_state(promo)
    faults.table.append(("kill -9 during promotion, before @champion moved", "champion v1, no event; retry promoted"))

    faults.kill_at("promotion: after the alias moved", "rollback", "--by", "on-call")
    assert current(registry(promo), MODEL, "champion") == 1
    no_half_state(promo)  # the history counts the rollback: it took effect
    assert faults.cli("promote", "2", "--by", "reviewer").returncode == 0  # settles it, then moves
    no_half_state(promo)
    faults.table.append(("kill -9 during promotion, after @champion moved", "champion v1, history agrees; next ok"))

    endpoint = promo.root / "endpoints" / MODEL / "endpoint.yaml"
    endpoint.parent.mkdir(parents=True, exist_ok=True)
    endpoint.write_text(f"model: {MODEL}\nfollow: {{poll_interval_s: 0.3}}\n", encoding="utf-8")
    port = free_port()
    serve = ["serve", "--endpoint", str(endpoint), "--port", str(port)]

    def roll_back_once_serving_v2() -> None:  # so that the held server is swapping when it is killed
        wait_serving(port, 2)
        faults.cli_process("rollback", "--by", "on-call")  # a process of its own: this runs beside the test

    mover = threading.Thread(target=roll_back_once_serving_v2, daemon=True)
    mover.start()
    faults.kill_at("server swap", *serve, HOLD_VERSION="1")
    mover.join(120)
    assert current(registry(promo), MODEL, "champion") == 1
    restarted = subprocess.Popen([sys.executable, "-m", "trunkml", *serve], cwd=promo.root, env=faults.env(),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_serving(port, 1)  # the restarted server loads the champion the killed one was swapping to
    finally:
        restarted.terminate()
        restarted.wait(60)
    no_half_state(promo)
    assert faults.left_behind, "the held server had no model process to orphan"  # it was serving v2
    deadline = time.monotonic() + 30
    while (
        alive := [pid for pid in faults.left_behind if Path(f"/proc/{pid}").exists()]
    ) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert alive == [], "model processes outlived their killed server"
    faults.table.append(("kill -9 during a server swap", "restart serves the new champion; no orphaned model process"))

    with capsys.disabled():
        print("\nfault x outcome:")
        for fault, outcome in faults.table:
            print(f"  {fault:50s} {outcome}")


def wait_serving(port: int, version: int, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).json().get("version") == version:
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"the server never served v{version}")
