"""Infra validation: serve a candidate alone in a sandboxed copy of the production server, then bless it or not.

``trunkml infra-validate REF`` starts ``trunkml serve`` (the same code, the endpoint's own
batching and limits) in a separate process on a loopback port, pinned to the candidate and
following nothing. It waits for readiness, sends a canned request set (normal texts, edge
cases, a batch at the endpoint's maximum size, and requests just over the limits) and checks:

* every valid request is answered 2xx, and every over-limit one 4xx (never 5xx);
* labels equal, and scores are within 1e-6 of, the offline predictions of the same version
  on the same texts (one call, outside the server: what the gate computes);
* the p99 latency of single-text requests is within the endpoint's budget;
* the peak memory of the server and its model processes stays within the endpoint's limit.

The result is recorded with the version (see ``registry.blessing``); promotion refuses a
version without a passing one for its files and the endpoint's current budget.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict

from trunkml.config import Settings, load_project
from trunkml.config.settings import child_environment
from trunkml.datasets import DataService
from trunkml.errors import RefusedError, TrunkmlError, UsageError
from trunkml.registry import Registry, show
from trunkml.registry.artifacts import VerifiedModel
from trunkml.registry.blessing import ARTIFACT_DIR, InfraSummary, blessing_of, record_blessing
from trunkml.registry.modelversion import ModelVersionRecord
from trunkml.serving.ports import free_port
from trunkml.serving.spec import EndpointSpec, InfraBudget, default_endpoint_path, load_endpoint

Report = Callable[[str], None]
SCORE_TOLERANCE = 1e-6
EVAL_TEXTS = 40
MAX_FAILURES = 3
LOG_TAIL = 3000
NORMAL_TEXTS = (
    "bom dia a todos, que tenham um ótimo fim de semana",
    "o jogo de ontem foi muito bom, parabéns à equipa",
    "não concordo com a decisão do governo sobre os impostos",
    "alguém sabe a que horas abre a biblioteca amanhã?",
    "vocês são uns nojentos, saiam daqui",
    "essa gente não presta, deviam voltar para a terra deles",
    "adorei o concerto, a banda tocou todas as músicas",
    "que vergonha de comentário, respeitem as pessoas",
)
EDGE_TEXTS = (
    "",
    " ",
    "a",
    "🙂🙂🙂",
    "Olá\nmundo\t!",
    "<script>alert(1)</script>",
    "@usuario http://t.co/abc #tag RT",
    "1234567890",
    "a\u200bb\u200bc",
    "c\u0327a\u0303o",  # combining accents
    "مرحبا بالعالم",
    "ÇÃO MAIÚSCULAS E ACENTOS ÁÉÍÓÚ",
)


class InfraValidation(BaseModel):
    """One infra validation of one version: the verdict, every check and the measurements."""

    model_config = ConfigDict(frozen=True)

    model: str
    version: int
    model_digest: str
    passed: bool
    reasons: list[str]
    checks: dict[str, bool]
    budget: dict[str, Any]
    budget_digest: str
    ready_s: float | None
    requests: int
    failed_requests: int
    p50_ms: float | None
    p99_ms: float | None
    peak_memory_mib: float | None
    compared_texts: int
    label_mismatches: int
    max_score_difference: float | None
    server_log_tail: str
    validated_at: str
    record: str
    seconds: float


@dataclass(frozen=True)
class Probe:
    """One canned request: its JSON body, whether it is within the limits, and what it is."""

    kind: str
    body: dict[str, Any]
    valid: bool = True

    @property
    def texts(self) -> list[str]:
        return [self.body["text"]] if "text" in self.body else list(self.body["texts"])


@dataclass
class Answered:
    """What the sandboxed server said to one probe."""

    probe: Probe
    status: int
    seconds: float
    labels: list[int] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    error: str = ""


def budget_digest(budget: InfraBudget) -> str:
    """sha256 of the budget a blessing was made under (a changed budget needs a new validation)."""
    return hashlib.sha256(json.dumps(budget.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def endpoint_for(settings: Settings, name: str, path: Path | None = None) -> EndpointSpec:
    """The endpoint spec that serves ``name``: ``path``, else the project's default one, else the defaults."""
    target = path or settings.endpoint_path
    if target is None:
        default = settings.project_root / "endpoints" / name / "endpoint.yaml"
        if not default.is_file() and load_project(settings.project_root).model == name:
            default = default_endpoint_path(settings)
        if not default.is_file():
            return EndpointSpec(model=name)
        target = default
    spec = load_endpoint(settings, target)
    if spec.model != name:
        raise UsageError(f"the endpoint spec {target} serves '{spec.model}', not '{name}'")
    return spec


def _unusable(found: InfraSummary | None, record: ModelVersionRecord, spec: EndpointSpec) -> str | None:
    """Why ``found`` does not bless ``record`` under ``spec``'s budget (None: it does)."""
    command = f"run `trunkml infra-validate {record.version}`"
    if found is None:
        return f"infra validation: {record.ref} has none; {command}"
    if found.model_digest != record.model_digest:
        return f"infra validation: it was made on other files than {record.ref}'s; {command}"
    if found.budget_digest != budget_digest(spec.infra_validation):
        return f"infra validation: the endpoint's budget changed since it ran; {command}"
    if not found.passed:
        return f"infra validation FAILED ({'; '.join(found.reasons[:3])}); fix the model, train a new version"
    return None


def current_blessing(record: ModelVersionRecord, spec: EndpointSpec) -> InfraSummary | None:
    """The version's passing blessing if it still applies: same files, same budget."""
    found = blessing_of(record)
    return found if _unusable(found, record, spec) is None else None


def blessing_problem(settings: Settings, record: ModelVersionRecord) -> str | None:
    """Why ``record`` may not be promoted for want of infra validation (None: it may)."""
    if not load_project(settings.project_root).gate.infra_validation and settings.env.value != "prod":
        return None
    return _unusable(blessing_of(record), record, endpoint_for(settings, record.name))


def _texts_from_eval(settings: Settings, report: Report) -> list[str]:
    eval_ref = load_project(settings.project_root).gate.eval
    if not eval_ref:
        return []
    try:
        frame = DataService(settings).load(eval_ref).frame
    except TrunkmlError as exc:
        report(f"canned texts: the eval set is not readable ({exc.message}); using the built-in texts only")
        return []
    texts = [str(text) for text in frame["text"].tolist()]
    picked = np.random.default_rng(0).choice(len(texts), size=min(EVAL_TEXTS, len(texts)), replace=False)
    return [texts[i] for i in sorted(picked.tolist())]


def canned_probes(spec: EndpointSpec, normal: list[str]) -> list[Probe]:
    """The request set: single normal texts, edge cases, a full batch, and just-over-the-limit requests."""
    limits, budget = spec.limits, spec.infra_validation
    fitting = [text[: limits.max_text_chars] for text in normal] or list(NORMAL_TEXTS)
    probes = [
        Probe("single", {"text": fitting[i % len(fitting)]}) for i in range(max(budget.single_requests, len(fitting)))
    ]
    longest = ("palavra " * (limits.max_text_chars // 8 + 1))[: limits.max_text_chars]
    probes += [Probe("edge", {"text": text[: limits.max_text_chars]}) for text in (*EDGE_TEXTS, longest)]
    batch = [fitting[i % len(fitting)] for i in range(limits.max_batch_texts)]
    if len(json.dumps({"texts": batch}).encode()) <= limits.max_body_bytes:
        probes.append(Probe("max batch", {"texts": batch}))
    probes.append(Probe("over the text limit", {"text": "x" * (limits.max_text_chars + 1)}, valid=False))
    probes.append(Probe("over the batch limit", {"texts": ["a"] * (limits.max_batch_texts + 1)}, valid=False))
    return probes


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
        answer.labels = [int(row["label"]) for row in rows]
        answer.scores = [float(row["score"]) for row in rows]
    except (ValueError, KeyError, TypeError) as exc:
        answer.status, answer.error = 0, f"unreadable answer: {exc}"
    return answer


def _offline(registry: Registry, name: str, version: int, texts: list[str]) -> dict[str, Any]:
    """Labels and scores of the version on ``texts`` in one call, outside the server (as the gate predicts)."""
    # In this process, as the gate predicts: the sandbox has already shown that the version loads and answers.
    model = VerifiedModel(registry, name, version)
    try:
        labels, scores = model.predict(texts)
    finally:
        model.close()
    return {text: (int(label), float(score)) for text, label, score in zip(texts, labels, scores, strict=True)}


@dataclass
class Verdict:
    """Checks and reasons as they are found."""

    checks: dict[str, bool] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    def check(self, name: str, ok: bool, detail: str) -> None:
        self.checks[name] = ok
        self.reasons.append(f"{name}: {'ok' if ok else 'FAILS'}: {detail}")


def _judge_answers(verdict: Verdict, answers: list[Answered], probes: list[Probe]) -> None:
    wrong = [a for a in answers if a.status // 100 != (2 if a.probe.valid else 4)]
    detail = f"{len(answers)} of {len(probes)} requests sent"
    if wrong:
        first = wrong[0]
        what = "2xx" if first.probe.valid else "4xx"
        detail += f"; {len(wrong)} answered otherwise, first: {first.probe.kind} got {first.status or first.error}"
        detail += f" (expected {what}){': ' + first.error[:200] if first.error else ''}"
    elif len(answers) < len(probes):
        detail += "; stopped early"
    verdict.check("responses", not wrong and len(answers) == len(probes), detail)


def _judge_agreement(
    verdict: Verdict, answers: list[Answered], offline: dict[str, Any]
) -> tuple[int, int, float | None]:
    compared = mismatched = 0
    worst = 0.0
    for answer in answers:
        if answer.status != 200:
            continue
        for text, label, score in zip(answer.probe.texts, answer.labels, answer.scores, strict=False):
            expected_label, expected_score = offline[text]
            compared += 1
            mismatched += label != expected_label
            worst = max(worst, abs(score - expected_score))
    ok = compared > 0 and mismatched == 0 and worst <= SCORE_TOLERANCE
    verdict.check(
        "offline agreement",
        ok,
        f"{compared} served predictions vs offline: {mismatched} label(s) differ, largest score difference "
        f"{worst:.2e} (tolerance {SCORE_TOLERANCE:g})",
    )
    return compared, mismatched, worst if compared else None


def _latencies(answers: list[Answered]) -> tuple[float | None, float | None]:
    singles = [a.seconds * 1000 for a in answers if a.probe.kind == "single" and a.status == 200]
    if not singles:
        return None, None
    return float(np.percentile(singles, 50)), float(np.percentile(singles, 99))


def infra_validate(
    settings: Settings,
    ref: str,
    model: str | None = None,
    endpoint: Path | None = None,
    report: Report = lambda _message: None,
) -> InfraValidation:
    """Validate ``ref`` in a sandboxed server, record the result with the version, and return it."""
    from trunkml.config import resolve_model

    started = time.perf_counter()
    name = resolve_model(settings, model)
    registry = Registry(settings)
    record = show(registry, name, ref)
    if not record.model_digest:
        raise RefusedError(f"{record.ref} has no recorded model digest; it cannot be validated or served")
    spec = endpoint_for(settings, name, endpoint)
    budget = spec.infra_validation
    probes = canned_probes(spec, _texts_from_eval(settings, report) + list(NORMAL_TEXTS))
    verdict = Verdict()
    answers: list[Answered] = []
    offline: dict[str, Any] = {}
    compared, mismatched, worst = 0, 0, None
    with tempfile.TemporaryDirectory(prefix="trunkml-infra-") as folder:
        report(f"starting a sandboxed server with {record.ref} alone")
        sandbox = Sandbox(settings, spec, record.version, Path(folder))
        try:
            ready_s, why = sandbox.wait_ready(budget.ready_timeout_s)
            verdict.check("readiness", ready_s is not None, why or f"ready in {ready_s:.1f} s")
            if ready_s is not None:
                answers = sandbox.ask(probes, spec.limits.request_timeout_s + 5, report)
        finally:
            peak, log_tail = sandbox.stop()
    if ready_s is not None:
        _judge_answers(verdict, answers, probes)
        served = sorted({t for a in answers if a.status == 200 for t in a.probe.texts})
        try:
            report("offline predictions on the same texts")
            offline = _offline(registry, name, record.version, served)
        except Exception as exc:  # the candidate's own failure outside the server is a failed validation
            verdict.check("offline agreement", False, f"offline predictions failed: {type(exc).__name__}: {exc}")
        else:
            compared, mismatched, worst = _judge_agreement(verdict, answers, offline)
    p50, p99 = _latencies(answers)
    if ready_s is not None:
        verdict.check(
            "latency",
            p99 is not None and p99 <= budget.p99_latency_ms,
            f"p99 of single-text requests {p99:.1f} ms (p50 {p50:.1f} ms), budget {budget.p99_latency_ms:g} ms"
            if p99 is not None
            else "no single-text request was answered",
        )
        verdict.check(
            "memory",
            peak is not None and peak <= budget.max_memory_mib,
            f"peak {peak:.0f} MiB (server and model processes), limit {budget.max_memory_mib:g} MiB"
            if peak is not None
            else "memory cannot be measured on this platform (needs Linux /proc); failing closed",
        )
    passed = bool(verdict.checks) and all(verdict.checks.values()) and "memory" in verdict.checks
    stamp = datetime.now(UTC)
    digest12 = record.model_digest[:12]
    result = InfraValidation(
        model=name,
        version=record.version,
        model_digest=record.model_digest,
        passed=passed,
        reasons=verdict.reasons,
        checks=verdict.checks,
        budget=budget.model_dump(mode="json"),
        budget_digest=budget_digest(budget),
        ready_s=ready_s,
        requests=len(answers),
        failed_requests=sum(1 for a in answers if a.status // 100 != (2 if a.probe.valid else 4)),
        p50_ms=p50,
        p99_ms=p99,
        peak_memory_mib=peak,
        compared_texts=compared,
        label_mismatches=mismatched,
        max_score_difference=worst,
        server_log_tail="" if passed else log_tail,
        validated_at=stamp.isoformat(),
        record=f"{ARTIFACT_DIR}/{digest12}-{stamp.strftime('%Y%m%dT%H%M%S')}.json",
        seconds=time.perf_counter() - started,
    )
    summary = InfraSummary(
        passed=passed,
        model_digest=record.model_digest,
        budget_digest=result.budget_digest,
        validated_at=result.validated_at,
        record=result.record,
        p99_ms=p99,
        peak_memory_mib=peak,
        reasons=[r for r in verdict.reasons if "FAILS" in r],
    )
    record_blessing(registry, name, record.version, result.model_dump(mode="json"), summary)
    return result
