"""Retraining triggers: drift, online recall under a floor, a champion older than its limit."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from trunkml.config.project import RetrainTriggers
from trunkml.monitoring.drift import DriftStatistic
from trunkml.monitoring.online import OnlineMetrics


class Trigger(BaseModel):
    """One retraining trigger and whether it fired."""

    model_config = ConfigDict(frozen=True)

    name: str
    fired: bool
    reason: str


def drift_trigger(rules: RetrainTriggers, checks: list[DriftStatistic]) -> Trigger:
    """Fires when any drift statistic fired (and the rule is on)."""
    fired = [check.name for check in checks if check.fired]
    reason = f"drift in {', '.join(fired)}" if fired else "no statistic over its threshold"
    return Trigger(name="drift", fired=rules.drift and bool(fired), reason=reason)


def recall_trigger(rules: RetrainTriggers, floor: float, online: list[OnlineMetrics], version: int) -> Trigger:
    """Fires when the champion's online recall is under ``floor`` on enough labelled positives."""
    mine = next((m for m in online if m.version == version and m.route == "champion"), None)
    if mine is None or mine.recall is None:
        return Trigger(name="recall_floor", fired=False, reason=f"no labelled positives for v{version} yet")
    judged = mine.positives >= rules.min_labelled_positives
    reason = f"online recall of v{version}: {mine.recall:.3f} on {mine.positives} labelled positives; floor {floor}"
    if not judged:
        reason += f" (judged from {rules.min_labelled_positives} positives)"
    return Trigger(name="recall_floor", fired=judged and mine.recall < floor, reason=reason)


def age_trigger(rules: RetrainTriggers, limit_s: float, version: int, age_s: float) -> Trigger:
    """Fires when the champion was trained longer than ``limit_s`` ago."""
    reason = f"champion v{version} was trained {age_s / 86400:.1f} days ago; limit {rules.max_champion_age}"
    return Trigger(name="champion_age", fired=age_s > limit_s, reason=reason)


def evaluate(
    rules: RetrainTriggers,
    checks: list[DriftStatistic],
    online: list[OnlineMetrics],
    version: int | None,
    champion_age: tuple[int, float] | None,
) -> list[Trigger]:
    """Every configured trigger, fired or not, with its reason."""
    triggers = [drift_trigger(rules, checks)]
    if rules.min_recall is not None and version is not None:
        triggers.append(recall_trigger(rules, rules.min_recall, online, version))
    if rules.max_age_seconds is not None and champion_age is not None:
        triggers.append(age_trigger(rules, rules.max_age_seconds, *champion_age))
    return triggers
