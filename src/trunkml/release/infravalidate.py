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

The request set is built in ``probes``, the server runs in ``sandbox``, and ``judging`` checks the
answers. The result is recorded with the version (see ``registry.blessing``); promotion refuses a
version without a passing one for its files and the endpoint's current budget.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from trunkml.config import Settings, resolve_model
from trunkml.errors import RefusedError
from trunkml.registry import Registry, show
from trunkml.registry.blessing import ARTIFACT_DIR, InfraSummary, record_blessing
from trunkml.release.blessing_policy import budget_digest, endpoint_for
from trunkml.release.judging import Verdict, judge_agreement, judge_answers, latencies, offline_predictions
from trunkml.release.probes import Report, input_key, probes_for
from trunkml.release.sandbox import Answered, Sandbox


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


def infra_validate(
    settings: Settings,
    ref: str,
    model: str | None = None,
    endpoint: Path | None = None,
    report: Report = lambda _message: None,
) -> InfraValidation:
    """Validate ``ref`` in a sandboxed server, record the result with the version, and return it."""
    started = time.perf_counter()
    name = resolve_model(settings, model)
    registry = Registry(settings)
    record = show(registry, name, ref)
    if not record.model_digest:
        raise RefusedError(f"{record.ref} has no recorded model digest; it cannot be validated or served")
    spec = endpoint_for(settings, name, endpoint)
    budget = spec.infra_validation
    probes = probes_for(spec, settings, report)
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
        judge_answers(verdict, answers, probes)
        served = list({input_key(t): t for a in answers if a.status == 200 for t in a.probe.texts}.values())
        try:
            report("offline predictions on the same texts")
            offline = offline_predictions(registry, name, record.version, served, record.class_list)
        except Exception as exc:  # the candidate's own failure outside the server is a failed validation
            verdict.check("offline agreement", False, f"offline predictions failed: {type(exc).__name__}: {exc}")
        else:
            compared, mismatched, worst = judge_agreement(verdict, answers, offline)
    p50, p99 = latencies(answers)
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
