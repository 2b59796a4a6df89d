"""The gate policy: a frozen value object that rejects bad values when it is made."""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from trunkml.config.settings import PROJECT_FILE
from trunkml.config.yamlfile import describe_validation_error, load_mapping
from trunkml.errors import ConfigError

METRICS = ("recall", "precision", "specificity", "f1", "accuracy")


class Test(StrEnum):
    """The one-sided paired test used for the primary metric."""

    EXACT = "exact"
    MID_P = "mid-p"


class PrimaryMetric(StrEnum):
    """Metrics the paired test can compare: recall (on positives) or specificity (on negatives)."""

    RECALL = "recall"
    SPECIFICITY = "specificity"


class Guard(BaseModel):
    """A metric that must not drop more than ``max_drop`` (absolute) below the champion's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str
    max_drop: float = Field(ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _known_metric(self) -> Self:
        if self.metric not in METRICS:
            raise ValueError(f"guard metric must be one of {list(METRICS)}, got '{self.metric}'")
        return self


class Floor(BaseModel):
    """A cold-start floor: with no champion, the challenger's ``metric`` must reach ``minimum``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str
    minimum: float = Field(gt=0.0, le=1.0, description="Above 0: a floor of 0 would be an automatic pass.")

    @model_validator(mode="after")
    def _known_metric(self) -> Self:
        if self.metric not in METRICS:
            raise ValueError(f"floor metric must be one of {list(METRICS)}, got '{self.metric}'")
        return self


class SliceGuard(BaseModel):
    """On every slice with at least ``min_positives`` positives, recall may not drop by more than
    ``max_recall_drop`` with a Holm-adjusted one-sided p-value below ``alpha`` (see ``evaluation.slices``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    min_positives: int = Field(default=30, ge=1, strict=True)
    max_recall_drop: float = Field(default=0.05, ge=0.0, le=1.0)
    alpha: float = Field(default=0.05, gt=0.0, le=0.2)


class GatePolicy(BaseModel):
    """What it takes for a challenger to replace the champion.

    Defaults: primary metric positive-class recall; alpha 0.05; exact one-sided McNemar;
    at least 10 discordant pairs; precision may not drop more than 0.02; on every slice of the
    eval set with >= 30 positives recall may not drop by more than 0.05 (Holm-corrected); with no
    champion, absolute floors recall >= 0.6 and precision >= 0.6. Every field is immutable.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    primary_metric: PrimaryMetric = PrimaryMetric.RECALL
    alpha: float = Field(default=0.05, gt=0.0, le=0.2)
    test: Test = Test.EXACT
    min_discordant: int = Field(default=10, ge=1, strict=True)
    guards: tuple[Guard, ...] = (Guard(metric="precision", max_drop=0.02),)
    cold_start_floors: tuple[Floor, ...] = (Floor(metric="recall", minimum=0.6), Floor(metric="precision", minimum=0.6))
    slice_guard: SliceGuard = SliceGuard()

    @field_validator("cold_start_floors", mode="before")
    @classmethod
    def _floors_from_mapping(cls, value: object) -> object:
        # trunkml.yaml writes floors as {metric: minimum}
        if isinstance(value, dict):
            return tuple({"metric": metric, "minimum": minimum} for metric, minimum in value.items())
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
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
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def load_policy(project_root: Path) -> GatePolicy:
    """The gate policy from ``trunkml.yaml`` (``gate.policy``); errors name the file and line."""
    path = project_root / PROJECT_FILE
    if not path.is_file():
        return GatePolicy()
    data, lines = load_mapping(path)
    raw = (data.get("gate") or {}).get("policy") or {}
    try:
        return GatePolicy.model_validate(raw)
    except ValidationError as exc:
        shifted = {key[2:]: line for key, line in lines.items() if key[:2] == ("gate", "policy")}
        raise ConfigError(
            describe_validation_error(path, exc, shifted).replace("field '", "field 'gate.policy.")
        ) from exc
