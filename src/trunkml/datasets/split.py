"""Seeded, stratified train/eval split for datasets without an official split.

Rows whose normalised text is the same form one group and always land on the
same side, so the split itself cannot leak. Groups are stratified by label
(a group is positive if any of its rows is) and shuffled with the recorded seed.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from trunkml.datasets.columns import LABEL
from trunkml.datasets.leakage import row_keys
from trunkml.errors import UsageError

if TYPE_CHECKING:  # pandas loads with the data, not with the CLI
    import pandas as pd


class SplitSpec(BaseModel):
    """What a job declares: the share held out for evaluation and the seed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    eval_fraction: float = Field(default=0.2, gt=0.0, lt=1.0)
    seed: int = Field(default=42, ge=0)


class SplitRecord(BaseModel):
    """What the split resolved to, for lineage: spec, sizes, and a digest of the eval row set."""

    model_config = ConfigDict(frozen=True)

    method: str = "stratified-grouped-by-normalised-text"
    eval_fraction: float
    seed: int
    train_rows: int
    eval_rows: int
    eval_rows_sha256: str


def _groups(frame: pd.DataFrame) -> dict[int, list[list[int]]]:
    """Return row-index groups keyed by stratum, in first-seen order.

    A stratum is the class (0/1, or 0..K-1), or for a regression target its quintile, so each part
    gets its share of every class or of every range of the target.
    """
    by_key: dict[str, list[int]] = defaultdict(list)
    for index, key in enumerate(row_keys(frame.drop(columns=[LABEL]))):
        by_key[key].append(index)
    import numpy as np

    labels = frame[LABEL].to_numpy()
    if labels.dtype.kind == "f":
        edges = np.quantile(labels, [0.2, 0.4, 0.6, 0.8])
        labels = np.searchsorted(edges, labels, side="right")
    strata: dict[int, list[list[int]]] = defaultdict(list, {0: [], 1: []})
    for rows in by_key.values():
        strata[int(max(labels[row] for row in rows))].append(rows)
    return strata


def split_frame(frame: pd.DataFrame, spec: SplitSpec) -> tuple[pd.DataFrame, pd.DataFrame, SplitRecord]:
    """Split a mapped frame (typed features, integer ``label``) into train and eval; same inputs, same split."""
    train_set, eval_set, record = split_rows(frame, spec)
    return frame.iloc[train_set].reset_index(drop=True), frame.iloc[eval_set].reset_index(drop=True), record


def split_rows(frame: pd.DataFrame, spec: SplitSpec) -> tuple[list[int], list[int], SplitRecord]:
    """The row positions of the train and eval parts (ascending), and the record of the split."""
    rng = random.Random(spec.seed)
    eval_rows: list[int] = []
    strata = _groups(frame)
    for stratum in sorted(strata):
        groups = strata[stratum]
        rng.shuffle(groups)
        target = round(spec.eval_fraction * sum(len(group) for group in groups))
        taken = 0
        for group in groups:
            # Take a group only if it brings the stratum closer to its target, so one
            # large duplicate group cannot overshoot the requested fraction.
            if abs(taken + len(group) - target) < abs(taken - target):
                eval_rows.extend(group)
                taken += len(group)
    eval_set = sorted(eval_rows)
    train_set = sorted(set(range(len(frame))) - set(eval_set))
    if not eval_set or not train_set:
        raise UsageError(
            f"a split of {len(frame)} rows with eval_fraction {spec.eval_fraction} leaves one side empty",
            hint="use more data or an eval_fraction nearer 0.2",
        )
    digest = hashlib.sha256(",".join(map(str, eval_set)).encode()).hexdigest()
    record = SplitRecord(
        eval_fraction=spec.eval_fraction,
        seed=spec.seed,
        train_rows=len(train_set),
        eval_rows=len(eval_set),
        eval_rows_sha256=digest,
    )
    return train_set, eval_set, record
