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
from trunkml.evaluation.sequential import LossSequence, SequentialDecision, loss_sequence, sequential_decision
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
        decision = loss_sequence(
            pairs["truth"], pairs["champion"], pairs["shadow"], alpha=policy.alpha, bound=bound, loss=loss
        )
    else:  # discordant correctness: "recall" on rows that are all positives is the share answered right
        truth = pairs["truth"].astype(int).to_numpy()
        right = GatePolicy(alpha=policy.alpha, min_discordant=policy.min_discordant, guards=())
        decision = sequential_decision(
            np.ones(len(pairs), dtype=int),
            (pairs["champion"].astype(int).to_numpy() == truth).astype(int),
            (pairs["shadow"].astype(int).to_numpy() == truth).astype(int),
            right,
        )
        note += " (evidence on discordant correctness: one model right, the other wrong)"
    return ShadowReport(
        champion=champion, shadow=shadow, labelled=len(pairs), decision=decision, note=note, e_path=decision.path
    )
