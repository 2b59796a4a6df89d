"""The shadow challenger against the champion, on every labelled text both answered.

All labelled pairs since the shadow version began shadowing count, not just the window:
the test is sequential (:mod:`trunkml.evaluation.sequential`), so its evidence can grow
run after run without inflating false promotions.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from trunkml.evaluation.policy import GatePolicy
from trunkml.evaluation.sequential import SequentialDecision, sequential_decision
from trunkml.serving.logread import LogReader


class ShadowReport(BaseModel):
    """What labelled shadow traffic says about the shadow version against the champion it shadowed."""

    model_config = ConfigDict(frozen=True)

    champion: int
    shadow: int
    labelled: int
    decision: SequentialDecision | None
    note: str
    e_path: list[float] = Field(default_factory=list, exclude=True)


def shadow_report(reader: LogReader, model: str, champion: int | None, policy: GatePolicy) -> ShadowReport | None:
    """The report for the latest shadow version against ``champion`` (None without shadow traffic)."""
    shadow = reader.latest_shadow(model)
    if shadow is None or champion is None:
        return None
    pairs = reader.shadow_pairs(model, champion, shadow)
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
