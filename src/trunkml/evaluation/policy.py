"""The gate policy: a frozen value object that rejects bad values when it is made."""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from trunkml.config.settings import PROJECT_FILE
from trunkml.config.yamlfile import describe_validation_error, load_mapping
from trunkml.errors import ConfigError

Task = Literal["binary", "multiclass", "regression"]
TASK_METRICS: dict[str, tuple[str, ...]] = {
    "binary": ("recall", "precision", "specificity", "f1", "accuracy"),
    "multiclass": ("accuracy", "macro_f1", "macro_recall", "macro_precision"),
    "regression": ("r2",),
}
"""Metrics a guard or a cold-start floor may name, per task (higher is better for all of them)."""
METRICS = TASK_METRICS["binary"]


class Test(StrEnum):
    """The one-sided paired test used for the primary metric."""

    EXACT = "exact"
    MID_P = "mid-p"


class PrimaryMetric(StrEnum):
    """Metrics the paired test can compare, per task (see ``PRIMARY_METRICS``)."""

    RECALL = "recall"
    SPECIFICITY = "specificity"
    ACCURACY = "accuracy"
    MACRO_RECALL = "macro_recall"
    MAE = "mae"
    RMSE = "rmse"


PRIMARY_METRICS: dict[str, tuple[PrimaryMetric, ...]] = {
    "binary": (PrimaryMetric.RECALL, PrimaryMetric.SPECIFICITY),
    "multiclass": (PrimaryMetric.ACCURACY, PrimaryMetric.MACRO_RECALL),
    "regression": (PrimaryMetric.MAE, PrimaryMetric.RMSE),
}


class Guard(BaseModel):
    """A metric that must not drop more than ``max_drop`` (absolute) below the champion's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str
    max_drop: float = Field(ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _known_metric(self) -> Self:
        known = sorted({m for metrics in TASK_METRICS.values() for m in metrics})
        if self.metric not in known:
            raise ValueError(f"guard metric must be one of {known}, got '{self.metric}'")
        return self


class Floor(BaseModel):
    """A cold-start floor: with no champion, the challenger's ``metric`` must reach ``minimum``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str
    minimum: float = Field(gt=0.0, le=1.0, description="Above 0: a floor of 0 would be an automatic pass.")

    @model_validator(mode="after")
    def _known_metric(self) -> Self:
        known = sorted({m for metrics in TASK_METRICS.values() for m in metrics})
        if self.metric not in known:
            raise ValueError(f"floor metric must be one of {known}, got '{self.metric}'")
        return self


class ClassGuard(BaseModel):
    """Multi-class: no class with at least ``min_rows`` eval rows may lose recall.

    A class fails when its recall drops by more than ``max_recall_drop`` (point estimate), or when a
    one-sided exact McNemar test on its rows finds a drop at all with a Holm-adjusted p-value below
    ``alpha`` (see ``evaluation.task_gate``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_rows: int = Field(default=30, ge=1, strict=True)
    max_recall_drop: float = Field(default=0.05, ge=0.0, le=1.0)
    alpha: float = Field(default=0.05, gt=0.0, le=0.2)


class RegressionGuard(BaseModel):
    """Regression: the error may not get worse in the ways the primary metric does not see.

    ``rmse_max_increase`` is relative (0.02: RMSE may grow by at most 2%; applies when MAE is primary),
    ``bias_max_increase`` is a fraction of the champion's MAE (|mean residual| may grow by at most that;
    and a challenger whose |bias| exceeds it may not have shifted its bias away from zero significantly at
    ``alpha``: a one-sided paired z-test on the residuals).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    rmse_max_increase: float = Field(default=0.02, ge=0.0, le=1.0)
    bias_max_increase: float = Field(default=0.05, ge=0.0, le=1.0)
    alpha: float = Field(default=0.05, gt=0.0, le=0.2)


TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "binary": {
        "primary_metric": "recall",
        "guards": ({"metric": "precision", "max_drop": 0.02},),
        "cold_start_floors": ({"metric": "recall", "minimum": 0.6}, {"metric": "precision", "minimum": 0.6}),
    },
    "multiclass": {
        "primary_metric": "accuracy",
        "guards": ({"metric": "macro_f1", "max_drop": 0.02},),
        "cold_start_floors": ({"metric": "accuracy", "minimum": 0.5},),
    },
    "regression": {"primary_metric": "mae", "guards": (), "cold_start_floors": ({"metric": "r2", "minimum": 0.1},)},
}
TASK_ONLY = {"class_guard": "multiclass", "regression_guard": "regression", "randomisations": "multiclass,regression"}
"""Policy fields that apply to some tasks only; the others' values are left out of the digest."""


class SliceGuard(BaseModel):
    """On every slice with at least ``min_positives`` positives, recall may not drop by more than
    ``max_recall_drop`` with a Holm-adjusted one-sided p-value below ``alpha`` (see ``evaluation.slices``).

    Multi-class gates judge each slice's accuracy the same way (``max_recall_drop`` in accuracy points), and
    regression gates its MAE or RMSE (growing by more than ``max_loss_increase``); both count rows, not
    positives, against ``min_positives``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    min_positives: int = Field(default=30, ge=1, strict=True)
    max_recall_drop: float = Field(default=0.05, ge=0.0, le=1.0)
    max_loss_increase: float = Field(default=0.05, ge=0.0, description="Regression: relative growth of the loss.")
    alpha: float = Field(default=0.05, gt=0.0, le=0.2)


class GatePolicy(BaseModel):
    """What it takes for a challenger to replace the champion.

    Defaults: primary metric positive-class recall; alpha 0.05; exact one-sided McNemar;
    at least 10 discordant pairs; precision may not drop more than 0.02; on every slice of the
    eval set with >= 30 positives recall may not drop by more than 0.05 (Holm-corrected); with no
    champion, absolute floors recall >= 0.6 and precision >= 0.6. Every field is immutable.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    task: Task = "binary"
    primary_metric: PrimaryMetric = PrimaryMetric.RECALL
    alpha: float = Field(default=0.05, gt=0.0, le=0.2)
    test: Test = Test.EXACT
    min_discordant: int = Field(default=10, ge=1, strict=True)
    guards: tuple[Guard, ...] = (Guard(metric="precision", max_drop=0.02),)
    cold_start_floors: tuple[Floor, ...] = (Floor(metric="recall", minimum=0.6), Floor(metric="precision", minimum=0.6))
    slice_guard: SliceGuard = SliceGuard()
    class_guard: ClassGuard = ClassGuard()
    regression_guard: RegressionGuard = RegressionGuard()
    randomisations: int = Field(
        default=9999, ge=99, le=1_000_000, strict=True, description="Sign flips of the randomisation tests."
    )

    @model_validator(mode="before")
    @classmethod
    def _task_defaults(cls, value: object) -> object:
        """A multi-class or regression policy starts from that task's primary metric, guards and floors."""
        if isinstance(value, dict):
            task = str(value.get("task", "binary"))
            return {**TASK_DEFAULTS.get(task, {}), **value}
        return value

    @field_validator("cold_start_floors", mode="before")
    @classmethod
    def _floors_from_mapping(cls, value: object) -> object:
        # trunkml.yaml writes floors as {metric: minimum}
        if isinstance(value, dict):
            return tuple({"metric": metric, "minimum": minimum} for metric, minimum in value.items())
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.primary_metric not in PRIMARY_METRICS[self.task]:
            allowed = ", ".join(m.value for m in PRIMARY_METRICS[self.task])
            raise ValueError(f"a {self.task} gate compares {allowed}, not '{self.primary_metric.value}'")
        named = [g.metric for g in self.guards] + [f.metric for f in self.cold_start_floors]
        for metric in named:
            if metric not in TASK_METRICS[self.task]:
                raise ValueError(f"'{metric}' is not a {self.task} metric ({', '.join(TASK_METRICS[self.task])})")
        if not self.cold_start_floors:
            raise ValueError("cold_start_floors must name at least one metric: a first champion is never auto-passed")
        for name, items in (
            ("guard", [g.metric for g in self.guards]),
            ("floor", [f.metric for f in self.cold_start_floors]),
        ):
            if len(items) != len(set(items)):
                raise ValueError(f"each {name} metric may appear once")
        return self

    def floor(self, metric: str) -> float | None:
        """The cold-start floor for ``metric``, if the policy has one."""
        return next((f.minimum for f in self.cold_start_floors if f.metric == metric), None)

    @property
    def digest(self) -> str:
        """sha256 of the policy, recorded with every decision."""
        dumped = self.model_dump(mode="json")
        for name, tasks in TASK_ONLY.items():
            if self.task not in tasks:
                dumped.pop(name)
        if self.task != "regression":  # a regression-only margin: other policies digest as before it existed
            dumped["slice_guard"].pop("max_loss_increase")
        if self.task == "binary":
            dumped.pop("task")  # a binary policy digests as it did before tasks existed
        return hashlib.sha256(json.dumps(dumped, sort_keys=True).encode()).hexdigest()


def load_policy(project_root: Path, task: str | None = None) -> GatePolicy:
    """The gate policy from ``trunkml.yaml`` (``gate.policy``); errors name the file and line.

    ``task`` is the evaluation data's: a policy that names no task takes it (with that task's defaults),
    and one that names another task is refused.
    """
    path = project_root / PROJECT_FILE
    if not path.is_file():
        return GatePolicy.model_validate({"task": task or "binary"})
    data, lines = load_mapping(path)
    raw = dict((data.get("gate") or {}).get("policy") or {})
    if task is not None and raw.setdefault("task", task) != task:
        raise ConfigError(
            f"{path}: gate.policy.task is {raw['task']!r}, but the evaluation set's target is {task}",
            hint="remove gate.policy.task (it follows the data) or fix it",
        )
    try:
        return GatePolicy.model_validate(raw)
    except ValidationError as exc:
        shifted = {key[2:]: line for key, line in lines.items() if key[:2] == ("gate", "policy")}
        raise ConfigError(
            describe_validation_error(path, exc, shifted).replace("field '", "field 'gate.policy.")
        ) from exc
