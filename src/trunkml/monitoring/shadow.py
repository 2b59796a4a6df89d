"""The shadow challenger against the champion, on every labelled text both answered.

All labelled pairs since the shadow version began shadowing count, not just the window:
the test is sequential (:mod:`trunkml.evaluation.sequential`), so its evidence can grow
run after run without inflating false promotions. Per task:

* binary: the e-value on the discordant pairs of the policy's primary metric;
* multi-class: the same e-value on discordant correctness (one model right, the other wrong);
* regression: a betting confidence sequence on the mean loss difference, with each row's
  difference clipped to a stated bound (``monitoring.shadow_loss_bound``, else the range of
  the champion's predictions on the eval set).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from trunkml.datasets.profile import ReferenceProfile
from trunkml.evaluation.policy import GatePolicy
from trunkml.evaluation.results import GuardResult
from trunkml.evaluation.sequential import LossSequence, SequentialDecision, loss_sequence, sequential_decision
from trunkml.evaluation.task_gate import multiclass_guards, regression_guards
from trunkml.serving.logread import LogReader


class ShadowReport(BaseModel):
    """What labelled shadow traffic says about the shadow version against the champion it shadowed."""

    model_config = ConfigDict(frozen=True)

    champion: int
    shadow: int
    labelled: int
    decision: SequentialDecision | LossSequence | None
    note: str
    e_path: list[float] = Field(default_factory=list, exclude=True)


def shadow_report(
    reader: LogReader, model: str, champion: int | None, policy: GatePolicy,
    profile: ReferenceProfile | None = None, loss_bound: float | None = None,
) -> ShadowReport | None:  # fmt: skip
    """The report for the latest shadow version against ``champion`` (None without shadow traffic)."""
    shadow = reader.latest_shadow(model)
    if shadow is None or champion is None:
        return None
    pairs = reader.shadow_pairs(model, champion, shadow)
    if policy.task != "binary":
        return _task_report(pairs, champion, shadow, policy, profile, loss_bound)
    target = 1 if policy.primary_metric.value == "recall" else 0
    relevant = int((pairs["truth"] == target).sum())
    if relevant == 0:
        note = (
            f"{len(pairs)} labelled texts answered by v{champion} and shadowed by v{shadow}, none with label "
            f"{target}: the {policy.primary_metric.value} comparison has nothing to compare yet"
        )
        return ShadowReport(champion=champion, shadow=shadow, labelled=len(pairs), decision=None, note=note)
    decision = sequential_decision(pairs["truth"], pairs["champion"], pairs["shadow"], policy)
    note = f"{len(pairs)} labelled texts answered by v{champion} and shadowed by v{shadow}, in labelling order"
    return ShadowReport(
        champion=champion, shadow=shadow, labelled=len(pairs), decision=decision, note=note, e_path=decision.path
    )


def _task_report(
    pairs: pd.DataFrame, champion: int, shadow: int, policy: GatePolicy, profile: ReferenceProfile | None,
    loss_bound: float | None,
) -> ShadowReport:  # fmt: skip
    note = f"{len(pairs)} labelled rows answered by v{champion} and shadowed by v{shadow}, in labelling order"
    decision: SequentialDecision | LossSequence
    if policy.task == "regression":
        bound = loss_bound
        if bound is None and profile is not None and profile.eval_scores:
            bound = max(profile.eval_scores) - min(profile.eval_scores)
        if not bound or bound <= 0:
            note += "; no loss bound: set monitoring.shadow_loss_bound"
            return ShadowReport(champion=champion, shadow=shadow, labelled=len(pairs), decision=None, note=note)
        loss = "rmse" if policy.primary_metric.value == "rmse" else "mae"
        truth, old, new = (pairs[c].astype(float).to_numpy() for c in ("truth", "champion", "shadow"))
        found = loss_sequence(truth, old, new, alpha=policy.alpha, bound=bound, loss=loss)
        guards = regression_guards(truth, old, new, policy) if len(pairs) >= MIN_ROWS else []
        enough = len(pairs) >= MIN_ROWS
        promote = found.would_promote and enough and all(g.ok for g in guards)
        extra = [] if enough else [f"only {len(pairs)} labelled rows; the guards are judged from {MIN_ROWS}"]
        decision = found.model_copy(update={
            "would_promote": promote, "guards": guards,
            "reasons": [_verdict(found.would_promote, enough, guards), *found.reasons[1:], *extra,
                        *(g.reason for g in guards)],
        })  # fmt: skip
    else:  # discordant correctness: "recall" on rows that are all positives is the share answered right
        labels, first, second = (pairs[c].astype(int).to_numpy() for c in ("truth", "champion", "shadow"))
        right = GatePolicy(alpha=policy.alpha, min_discordant=policy.min_discordant, guards=())
        found_c = sequential_decision(
            np.ones(len(pairs), dtype=int), (first == labels).astype(int), (second == labels).astype(int), right
        )
        guards = multiclass_guards(labels, first, second, policy)
        enough = found_c.b + found_c.c >= policy.min_discordant
        evidence = found_c.e_max >= found_c.threshold
        head = (
            f"accuracy {np.mean(first == labels):.3f} → {np.mean(second == labels):.3f} on {len(pairs)} labelled rows; "
            f"shadow-only right c={found_c.c}, champion-only right b={found_c.b}; e-value {found_c.e_value:.3g} "
            f"(highest so far {found_c.e_max:.3g}) {'>=' if evidence else '<'} 1/alpha = {found_c.threshold:.3g}"
        )
        extra = (
            []
            if enough
            else [f"only {found_c.b + found_c.c} discordant pairs; the policy needs {policy.min_discordant}"]
        )
        decision = found_c.model_copy(update={
            "would_promote": evidence and enough and all(g.ok for g in guards), "guards": guards,
            "champion_metrics": {"accuracy": float(np.mean(first == labels))},
            "challenger_metrics": {"accuracy": float(np.mean(second == labels))},
            "reasons": [_verdict(evidence, enough, guards), head, *extra, *(g.reason for g in guards)],
        })  # fmt: skip
        note += " (evidence on discordant correctness: one model right, the other wrong)"
    return ShadowReport(
        champion=champion, shadow=shadow, labelled=len(pairs), decision=decision, note=note, e_path=decision.path
    )


MIN_ROWS = 30
"""Labelled rows before a regression shadow's guards (bias, RMSE) are judged."""


def _verdict(evidence: bool, enough: bool, guards: list[GuardResult]) -> str:
    if evidence and enough and all(g.ok for g in guards):
        return "WOULD PROMOTE: the evidence suffices and every guard holds"
    return "NOT YET: " + (
        "the evidence is not strong enough"
        if not evidence
        else "too few labelled rows"
        if not enough
        else "a guard fails"
    )
