"""Infra validation's sandbox: ``trunkml serve`` pinned to one version in its own process group, on a free
loopback port, with its peak memory (server and model processes) sampled from ``/proc``."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from trunkml.config import Settings
from trunkml.config.settings import child_environment
from trunkml.release.probes import Probe, Report
from trunkml.serving.ports import free_port
from trunkml.serving.spec import EndpointSpec

MAX_FAILURES = 3
LOG_TAIL = 3000


@dataclass
class Answered:
    """What the sandboxed server said to one probe."""

    probe: Probe
    status: int
    seconds: float
    rows: list[dict[str, Any]] = field(default_factory=list)
    """The answer's prediction objects, one per input: label and score, probabilities, or prediction."""
    error: str = ""


class MemoryWatch:
    """Samples the proportional set size of a process and all its descendants (Linux ``/proc``)."""

    def __init__(self, pid: int, interval_s: float = 0.1) -> None:
        self.pid = pid
        self.peak_bytes = 0
        self.measured = Path("/proc/self/smaps_rollup").is_file() or Path("/proc/self/status").is_file()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval_s,), daemon=True)
        if self.measured:
            self._thread.start()

    def _run(self, interval_s: float) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, sum(_memory(pid) for pid in _tree(self.pid)))
            self._stop.wait(interval_s)

    def stop(self) -> float | None:
        """Stop sampling; the peak in MiB (None where it cannot be measured)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        return self.peak_bytes / 2**20 if self.measured and self.peak_bytes else None


def _tree(root: int) -> list[int]:
    pids, frontier = [root], [root]
    while frontier:
        pid = frontier.pop()
        try:
            tasks = Path(f"/proc/{pid}/task").iterdir()
            children = [int(c) for task in tasks for c in (task / "children").read_text().split()]
        except OSError:
            continue
        pids.extend(children)
        frontier.extend(children)
    return pids


def _memory(pid: int) -> int:
    """Pss (shared pages split between sharers) in bytes; Rss where Pss is not reported."""
    for name, key in (("smaps_rollup", "Pss:"), ("status", "VmRSS:")):
        try:
            for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
        except (OSError, ValueError):
            continue
    return 0


class Sandbox:
    """``trunkml serve`` pinned to one version, on a free loopback port, with its own prediction log."""

    def __init__(self, settings: Settings, spec: EndpointSpec, version: int, folder: Path) -> None:
        pinned = spec.model_copy(
            update={
                "traffic": spec.traffic.model_copy(
                    update={
                        "champion": str(version),
                        "canary": spec.traffic.canary.model_copy(update={"percent": 0.0}),
                        "shadow": spec.traffic.shadow.model_copy(update={"enabled": False}),
                    }
                ),
                "follow": spec.follow.model_copy(update={"poll_interval_s": 3600.0}),
                "auth": spec.auth.model_copy(update={"protect_predict": False}),
                "log": spec.log.model_copy(update={"path": folder / "predictions.db"}),
            }
        )
        endpoint = folder / "endpoint.yaml"
        endpoint.write_text(yaml.safe_dump(pinned.model_dump(mode="json"), sort_keys=False), encoding="utf-8")
        self.version = version
        self.log = folder / "server.log"
        self.url = f"http://127.0.0.1:{free_port()}"
        env = child_environment(settings, TRUNKML_API_KEY=secrets.token_urlsafe(24))
        env.pop("TRUNKML_ENDPOINT", None)
        command = [sys.executable, "-m", "trunkml", "serve", "--endpoint", str(endpoint),
                   "--host", "127.0.0.1", "--port", self.url.rsplit(":", 1)[1], "--workers", "1"]  # fmt: skip
        with self.log.open("wb") as sink:
            self.process = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
                command, cwd=settings.project_root, env=env, stdout=sink, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.memory = MemoryWatch(self.process.pid)

    def wait_ready(self, timeout_s: float) -> tuple[float | None, str]:
        """(seconds to readiness, "") or (None, why it never got there)."""
        started = time.monotonic()
        with httpx.Client(base_url=self.url, timeout=5) as client:
            while time.monotonic() - started < timeout_s:
                if self.process.poll() is not None:
                    return None, f"the server exited with code {self.process.returncode} before it was ready"
                try:
                    ready = client.get("/readyz")
                    if ready.status_code == 200 and ready.json().get("version") == self.version:
                        return time.monotonic() - started, ""
                    refused = [r for r in client.get("/model").json()["refused"] if r["version"] == self.version]
                    if refused:
                        last = refused[-1]
                        return None, f"the server refused the version ({last['reason']}): {last['message']}"
                except (httpx.HTTPError, ValueError, KeyError):
                    pass
                time.sleep(0.1)
        return None, f"the server was not ready within {timeout_s:g} s (it hangs loading the model, or is too slow)"

    def ask(self, probes: list[Probe], timeout_s: float, report: Report) -> list[Answered]:
        """Send every probe in order on one connection; stop after a few failures in a row."""
        answers: list[Answered] = []
        failures = 0
        with httpx.Client(base_url=self.url, timeout=timeout_s) as client:
            for index, probe in enumerate(probes):
                if index % 20 == 0:
                    report(f"canned requests {index}/{len(probes)}")
                started = time.perf_counter()
                try:
                    response = client.post("/predict", json=probe.body)
                except httpx.HTTPError as exc:
                    answers.append(Answered(probe, 0, time.perf_counter() - started, error=type(exc).__name__))
                else:
                    answers.append(_answered(probe, response, time.perf_counter() - started))
                ok = answers[-1].status // 100 == (2 if probe.valid else 4)
                failures = 0 if ok else failures + 1
                if failures >= MAX_FAILURES:
                    break
        return answers

    def stop(self) -> tuple[float | None, str]:
        """Stop the server (SIGTERM, then SIGKILL); (peak memory MiB, the log's tail)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        with_children = self.memory.stop()
        _kill_group(self.process.pid)
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.is_file() else ""
        return with_children, text[-LOG_TAIL:]


def _kill_group(pgid: int) -> None:
    """Leave nothing of the sandbox behind (model processes, the fork server)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _answered(probe: Probe, response: httpx.Response, seconds: float) -> Answered:
    answer = Answered(probe, response.status_code, seconds)
    if response.status_code != 200:
        answer.error = response.text[:300]
        return answer
    try:
        body = response.json()
        rows = [body] if "text" in probe.body else body["predictions"]
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise TypeError("predictions is not a list of objects")
        answer.rows = rows
    except (ValueError, KeyError, TypeError) as exc:
        answer.status, answer.error = 0, f"unreadable answer: {exc}"
    return answer
