"""The seeded split: reproducible, stratified, and never splitting duplicates across sides."""

from __future__ import annotations

import pandas as pd
import pytest

from trunkml.datasets.leakage import find_leakage
from trunkml.datasets.split import SplitSpec, split_frame


@pytest.fixture
def frame() -> pd.DataFrame:
    texts = [f"texto número {i}" for i in range(1000)]
    labels = [1 if i % 5 == 0 else 0 for i in range(1000)]
    texts[:50] = [f"o mesmo texto repetido {i % 10}" for i in range(50)]
    return pd.DataFrame({"text": texts, "label": labels})


def test_same_seed_same_split(frame: pd.DataFrame) -> None:
    _, a, rec_a = split_frame(frame, SplitSpec(seed=3))
    _, b, rec_b = split_frame(frame, SplitSpec(seed=3))
    _, _, rec_c = split_frame(frame, SplitSpec(seed=4))
    assert a.equals(b)
    assert rec_a == rec_b
    assert rec_a.eval_rows_sha256 != rec_c.eval_rows_sha256
    assert rec_a.seed == 3


def test_stratified_shares(frame: pd.DataFrame) -> None:
    _, held_out, record = split_frame(frame, SplitSpec(eval_fraction=0.2, seed=1))
    assert record.train_rows + record.eval_rows == len(frame)
    assert abs(held_out["label"].mean() - frame["label"].mean()) < 0.02
    assert 190 <= len(held_out) <= 210


def test_one_large_duplicate_group_does_not_overshoot() -> None:
    texts = ["repetido"] * 300 + [f"único {i}" for i in range(700)]
    frame = pd.DataFrame({"text": texts, "label": [0] * 1000})
    frame.loc[::4, "label"] = 1
    _, held_out, _ = split_frame(frame, SplitSpec(eval_fraction=0.2, seed=2))
    assert len(held_out) <= 230


def test_duplicates_never_cross_the_split(frame: pd.DataFrame) -> None:
    train, held_out, _ = split_frame(frame, SplitSpec(seed=11))
    assert find_leakage(train[["text"]], held_out[["text"]], train="t", eval="e", allowance=0.0).overlapping_rows == 0
