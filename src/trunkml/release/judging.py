"""Infra validation's judging: the sandbox's answers against the contract, the offline predictions, and latency."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trunkml.registry import Registry
from trunkml.registry.artifacts import VerifiedModel
from trunkml.release.probes import Probe, input_key
from trunkml.release.sandbox import Answered
from trunkml.serving.server import answer_rows

SCORE_TOLERANCE = 1e-6


def offline_predictions(
    registry: Registry, name: str, version: int, texts: list[Any], class_list: tuple[str, ...] = ()
) -> dict[str, Comparable]:
    """The version's answers to ``texts`` (or records) in one call, outside the server, by input key."""
    # In this process, as the gate predicts: the sandbox has already shown that the version loads and answers.
    model = VerifiedModel(registry, name, version)
    try:
        answers = model.answer(texts)
    finally:
        model.close()
    rows = answer_rows(answers, class_list)
    return {input_key(text): comparable(row) for text, row in zip(texts, rows, strict=True)}


Comparable = tuple[Any, list[float]]


def comparable(row: dict[str, Any]) -> Comparable:
    """What must agree between a served and an offline answer: the class exactly, and every number.

    The numbers are the score, each class's probability (by name), or the prediction and its interval.
    """
    if "prediction" in row:
        interval = row.get("interval") or {}
        return None, [float(row["prediction"]), *(float(interval[k]) for k in ("lower", "upper") if k in interval)]
    probabilities = row.get("probabilities") or {}
    return row["label"], [float(row["score"]), *(float(probabilities[k]) for k in sorted(probabilities))]


@dataclass
class Verdict:
    """Checks and reasons as they are found."""

    checks: dict[str, bool] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    def check(self, name: str, ok: bool, detail: str) -> None:
        self.checks[name] = ok
        self.reasons.append(f"{name}: {'ok' if ok else 'FAILS'}: {detail}")


def judge_answers(verdict: Verdict, answers: list[Answered], probes: list[Probe]) -> None:
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


def judge_agreement(
    verdict: Verdict, answers: list[Answered], offline: dict[str, Any]
) -> tuple[int, int, float | None]:
    compared = mismatched = 0
    worst = 0.0
    for answer in answers:
        if answer.status != 200:
            continue
        for text, row in zip(answer.probe.texts, answer.rows, strict=False):
            expected_label, expected_numbers = offline[input_key(text)]
            try:
                label, numbers = comparable(row)
            except (KeyError, TypeError, ValueError):
                label, numbers = object(), []
            compared += 1
            if label != expected_label or len(numbers) != len(expected_numbers):
                mismatched += 1
                continue
            worst = max([worst, *(abs(a - b) for a, b in zip(numbers, expected_numbers, strict=True))])
    ok = compared > 0 and mismatched == 0 and worst <= SCORE_TOLERANCE
    verdict.check(
        "offline agreement",
        ok,
        f"{compared} served predictions vs offline: {mismatched} label(s) differ, largest score difference "
        f"{worst:.2e} (tolerance {SCORE_TOLERANCE:g})",
    )
    return compared, mismatched, worst if compared else None


def latencies(answers: list[Answered]) -> tuple[float | None, float | None]:
    singles = [a.seconds * 1000 for a in answers if a.probe.kind == "single" and a.status == 200]
    if not singles:
        return None, None
    return float(np.percentile(singles, 50)), float(np.percentile(singles, 99))
