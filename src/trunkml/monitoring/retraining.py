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


def task_trigger(rules: RetrainTriggers, online: list[OnlineMetrics], version: int) -> Trigger | None:
    """``min_accuracy`` (multi-class) or ``max_mae`` (regression) on the champion's labelled rows, when set."""
    mine = next((m for m in online if m.version == version and m.route == "champion"), None)
    if rules.min_accuracy is not None and (mine is None or mine.task == "multiclass"):
        if mine is None or mine.accuracy is None:
            return Trigger(name="accuracy_floor", fired=False, reason=f"no labelled predictions of v{version} yet")
        judged = mine.labelled >= rules.min_labelled
        reason = f"online accuracy of v{version}: {mine.accuracy:.3f} on {mine.labelled} labelled"
        reason += f"; floor {rules.min_accuracy}"
        if not judged:
            reason += f" (judged from {rules.min_labelled} labelled)"
        return Trigger(name="accuracy_floor", fired=judged and mine.accuracy < rules.min_accuracy, reason=reason)
    if rules.max_mae is not None and (mine is None or mine.task == "regression"):
        if mine is None or mine.mae is None:
            return Trigger(name="mae_ceiling", fired=False, reason=f"no labelled predictions of v{version} yet")
        judged = mine.labelled >= rules.min_labelled
        reason = f"online MAE of v{version}: {mine.mae:.4g} on {mine.labelled} labelled; ceiling {rules.max_mae:g}"
        if not judged:
            reason += f" (judged from {rules.min_labelled} labelled)"
        return Trigger(name="mae_ceiling", fired=judged and mine.mae > rules.max_mae, reason=reason)
    return None


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
    if version is not None and (found := task_trigger(rules, online, version)) is not None:
        triggers.append(found)
    if rules.max_age_seconds is not None and champion_age is not None:
        triggers.append(age_trigger(rules, rules.max_age_seconds, *champion_age))
    return triggers
