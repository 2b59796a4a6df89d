"""The serving half of the demo: a real ``trunkml serve`` process that follows ``@champion``.

It starts after the first promotion, keeps answering while the champion moves
(counting every failed request), and is stopped with SIGTERM at the end.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from trunkml.config import Settings
from trunkml.config.settings import child_environment
from trunkml.demo.demoproject import MODEL, demo_template, endpoint_path
from trunkml.errors import UnavailableError
from trunkml.serving.ports import free_port

SAMPLE = "vocês são uns nojentos, saiam daqui"
Input = str | dict[str, Any]


def body_of(one: Input) -> dict[str, Any]:
    """The /predict body for one text or one record."""
    return {"text": one} if isinstance(one, str) else {"inputs": [one]}


def answer_of(body: dict[str, Any]) -> dict[str, Any]:
    """The prediction in a /predict answer, whichever form it has (a record's is the first of ``predictions``)."""
    return {**body, **body["predictions"][0]} if body.get("predictions") else body


class DemoServer:
    """``trunkml serve`` on a free loopback port, for the demo workspace."""

    def __init__(self, settings: Settings, sample: Input = SAMPLE) -> None:
        self.sample = sample
        root = settings.project_root
        endpoint = endpoint_path(root)
        if not endpoint.is_file():  # the demo commits it with commit A
            endpoint.parent.mkdir(parents=True, exist_ok=True)
            endpoint.write_text(demo_template("endpoint.yaml", model=MODEL), encoding="utf-8")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = settings.home_dir / "demo-server.log"
        command = [sys.executable, "-m", "trunkml", "serve", "--endpoint", str(endpoint), "--port", str(self.port)]
        with self.log.open("wb") as sink:
            self.process = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
                command, cwd=root, env=child_environment(settings), stdout=sink, stderr=subprocess.STDOUT
            )
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def wait_for_version(self, version: int, timeout_s: float = 120) -> None:
        """Block until the server's champion is ``version``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise UnavailableError(f"the demo server exited; see {self.log}")
            try:
                if self.client.get("/readyz").json().get("version") == version:
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.1)
        raise UnavailableError(f"the demo server did not serve v{version} within {timeout_s:.0f} s; see {self.log}")

    def predict(self) -> tuple[int, dict[str, Any]]:
        """(status, answer) of one prediction of the sample input."""
        response = self.client.post("/predict", json=body_of(self.sample))
        return response.status_code, answer_of(response.json())

    def traffic_with_feedback(self, inputs: list[Input], labels: list[int]) -> int:
        """Send each input as its own request (as users would), then its true label through ``/feedback``.

        Returns how many inputs were answered.
        """

        def one(index: int) -> bool:
            rid = f"demo-traffic-{index}"
            response = self.client.post("/predict", json=body_of(inputs[index]), headers={"x-request-id": rid})
            if response.status_code != 200:
                return False
            self.client.post("/feedback", json={"request_id": rid, "label": int(labels[index])})
            return True

        with ThreadPoolExecutor(max_workers=4) as pool:
            return sum(pool.map(one, range(len(inputs))))

    def wait_logged(self, rows: int, timeout_s: float = 30) -> bool:
        """Wait until the server has written at least ``rows`` rows to its prediction log."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in self.client.get("/metrics").text.splitlines():
                if line.startswith("trunkml_prediction_log_rows_total ") and float(line.split()[1]) >= rows:
                    return True
            time.sleep(0.1)
        return False

    def under_load(self) -> LoadCounter:
        """Start sending requests continuously (stop with ``LoadCounter.stop``)."""
        return LoadCounter(self.url, body_of(self.sample))

    def stop(self) -> int | None:
        """SIGTERM, then wait for the graceful shutdown."""
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.poll()


class LoadCounter:
    """A background client that keeps predicting and counts answers, failures and versions seen."""

    def __init__(self, url: str, body: dict[str, Any] | None = None) -> None:
        self.body = body or body_of(SAMPLE)
        self.ok = 0
        self.failed = 0
        self.versions: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(url,), daemon=True)
        self._thread.start()

    def _run(self, url: str) -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            while not self._stop.is_set():
                try:
                    response = client.post("/predict", json=self.body)
                except httpx.HTTPError:
                    self.failed += 1
                    continue
                if response.status_code != 200:
                    self.failed += 1
                    continue
                self.ok += 1
                version = int(response.headers["x-model-version"])
                if not self.versions or self.versions[-1] != version:
                    self.versions.append(version)

    def stop(self) -> None:
        """Stop sending and wait for the last answer."""
        self._stop.set()
        self._thread.join(60)
