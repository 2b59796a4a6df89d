"""The gate policy: a frozen value object that rejects bad values when it is made."""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

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


class GatePolicy(BaseModel):
    """What it takes for a challenger to replace the champion.

    Defaults: primary metric positive-class recall; alpha 0.05; exact one-sided McNemar;
    at least 10 discordant pairs; precision may not drop more than 0.02; with no champion,
    absolute floors recall >= 0.6 and precision >= 0.6.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    primary_metric: PrimaryMetric = PrimaryMetric.RECALL
    alpha: float = Field(default=0.05, gt=0.0, le=0.2)
    test: Test = Test.EXACT
    min_discordant: int = Field(default=10, ge=1)
    guards: tuple[Guard, ...] = (Guard(metric="precision", max_drop=0.02),)
    cold_start_floors: dict[str, float] = Field(default_factory=lambda: {"recall": 0.6, "precision": 0.6})

    @model_validator(mode="after")
    def _valid_floors(self) -> Self:
        if not self.cold_start_floors:
            raise ValueError("cold_start_floors must name at least one metric: a first champion is never auto-passed")
        for metric, floor in self.cold_start_floors.items():
            if metric not in METRICS or not 0.0 <= floor <= 1.0:
                raise ValueError(
                    f"cold-start floor {metric}={floor}: metric must be one of {list(METRICS)}, floor in [0, 1]"
                )
        names = [guard.metric for guard in self.guards]
        if len(names) != len(set(names)):
            raise ValueError("each guard metric may appear once")
        return self

    @property
    def digest(self) -> str:
        """sha256 of the policy, recorded with every decision."""
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()
