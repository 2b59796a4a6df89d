"""What the server measures: Prometheus metrics, plus a short in-memory window for the status page.

Each app gets its own Prometheus registry, so several servers in one process
(tests, the demo) never mix their numbers.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
WINDOW_S = 300.0


@dataclass(frozen=True)
class Sample:
    """One answered prediction request, as the status page shows it."""

    at: float
    route: str
    version: str
    status: int
    seconds: float


class ServerMetrics:
    """The Prometheus metrics of one server."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "trunkml_requests",
            "HTTP requests by path, model version and status",
            ["path", "version", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "trunkml_request_duration_seconds", "Request latency by path", ["path"], buckets=LATENCY_BUCKETS, registry=r
        )
        self.predictions = Counter(
            "trunkml_predictions", "Texts predicted by route and version", ["route", "version"], registry=r
        )
        self.batch_size = Histogram(
            "trunkml_batch_size", "Texts per model call", ["role"], buckets=BATCH_BUCKETS, registry=r
        )
        self.swaps = Counter("trunkml_model_swaps", "Models swapped in, by role", ["role"], registry=r)
        self.swap_failures = Counter(
            "trunkml_model_swap_failures", "Candidates refused, by role and reason", ["role", "reason"], registry=r
        )
        self.model_info = Gauge(
            "trunkml_model_info", "The version serving each role (value 1)", ["role", "version", "digest"], registry=r
        )
        self.log_rows = Counter("trunkml_prediction_log_rows", "Rows written to the prediction log", registry=r)
        self.log_errors = Counter("trunkml_prediction_log_errors", "Failed prediction-log writes", registry=r)
        self.log_dropped = Counter(
            "trunkml_prediction_log_dropped", "Rows the prediction log could not keep", registry=r
        )
        self.shadow = Counter("trunkml_shadow", "Shadow predictions by outcome", ["outcome"], registry=r)
        self.timeouts = Counter("trunkml_request_timeouts", "Requests answered 504", registry=r)
        self.recent: deque[Sample] = deque(maxlen=50_000)

    def show_model(self, role: str, version: str | None, digest: str | None, previous: tuple[str, str] | None) -> None:
        """Point the ``trunkml_model_info`` gauge of ``role`` at ``version`` (or nothing)."""
        if previous is not None:
            self.model_info.remove(role, *previous)
        if version is not None and digest is not None:
            self.model_info.labels(role, version, digest[:12]).set(1)

    def sample(self, route: str, version: str, status: int, seconds: float) -> None:
        """Remember one prediction request for the status page."""
        self.recent.append(Sample(time.time(), route, version, status, seconds))

    def window(self, seconds: float = WINDOW_S) -> list[Sample]:
        """Samples of the last ``seconds``."""
        since = time.time() - seconds
        return [sample for sample in list(self.recent) if sample.at >= since]

    def exposition(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
