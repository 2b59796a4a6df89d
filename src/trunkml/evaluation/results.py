"""What the gate decides, for every task: each guard's result and the decision record's content."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from trunkml.evaluation.policy import GatePolicy
from trunkml.evaluation.slice_checks import SliceResult

TOLERANCE = 1e-12


class GuardResult(BaseModel):
    """One guard (or cold-start floor) and whether it held."""

    model_config = ConfigDict(frozen=True)

    metric: str
    challenger: float
    threshold: float
    champion: float | None = None
    max_drop: float | None = None
    ok: bool
    reason: str


class GateDecision(BaseModel):
    """A reproducible promotion decision: the inputs' summary, the test, every check, the verdict."""

    model_config = ConfigDict(frozen=True)

    promote: bool
    mode: Literal["paired", "cold_start"]
    task: Literal["binary", "multiclass", "regression"] = "binary"
    primary_metric: str
    test: str
    alpha: float
    n: int
    positives: int
    b: int | None = None
    c: int | None = None
    p_value: float | None = None
    difference: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_level: float | None = None
    ci_method: str | None = None
    champion_metrics: dict[str, float] | None = None
    challenger_metrics: dict[str, float]
    guards: list[GuardResult]
    slices: list[SliceResult] = []
    reasons: list[str]
    policy: GatePolicy
    policy_digest: str


def guard_result(metric: str, champion: float, challenger: float, max_drop: float) -> GuardResult:
    threshold = champion - max_drop
    ok = challenger >= threshold - TOLERANCE
    verdict = "holds" if ok else "FAILS"
    reason = (
        f"guard {metric}: {champion:.3f} → {challenger:.3f} ({challenger - champion:+.3f}); "
        f"may drop at most {max_drop:.3f}: {verdict}"
    )
    return GuardResult(
        metric=metric,
        champion=champion,
        challenger=challenger,
        threshold=threshold,
        max_drop=max_drop,
        ok=ok,
        reason=reason,
    )


def floor_result(metric: str, challenger: float, floor: float) -> GuardResult:
    ok = challenger >= floor - TOLERANCE
    reason = f"cold-start floor {metric}: {challenger:.3f} must be >= {floor:.3f}: {'holds' if ok else 'FAILS'}"
    return GuardResult(metric=metric, challenger=challenger, threshold=floor, ok=ok, reason=reason)
