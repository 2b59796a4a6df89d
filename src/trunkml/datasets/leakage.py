"""Train/eval leakage: the same row, up to trivial differences, on both sides.

A row's key is built from all its feature values: numbers by value, flags as 0/1,
categories and texts normalised. A text-only row's key is its normalised text.
Texts are normalised (Unicode NFKC, case-folded, accents stripped, URLs and
@mentions replaced by placeholders, punctuation and spacing collapsed) so that a
retweet with another link or a different capitalisation still counts as the same
text.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    import pandas as pd

URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
MENTION = re.compile(r"@\w+")
RETWEET = re.compile(r"^\s*rt\b\s*(?:@\w+)?\s*:?\s*", re.IGNORECASE)
NON_WORD = re.compile(r"[^\w]+")
EXAMPLES = 5
NORMALISATION_VERSION = "1"  # bump when normalize_text changes: cached overlap counts are keyed by it


def normalize_text(text: str) -> str:
    """Return the comparison key for ``text`` (see module docstring)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = URL.sub(" url ", MENTION.sub(" user ", RETWEET.sub("", folded)))
    stripped = "".join(ch for ch in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(ch))
    return " ".join(NON_WORD.sub(" ", stripped).split())


def _value_key(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int | float):
        return repr(float(value))
    return normalize_text(str(value))


def row_keys(features: pd.DataFrame) -> list[str]:
    """One comparison key per row of typed ``features``: the normalised text for a single text column, else a hash."""
    columns = [features[column].tolist() for column in features.columns]
    if len(columns) == 1:
        return [_value_key(value) for value in columns[0]]
    return [
        hashlib.blake2b("\x1f".join(map(_value_key, row)).encode(), digest_size=16).hexdigest()
        for row in zip(*columns, strict=True)
    ]


def describe_row(features: pd.DataFrame, position: int, width: int = 120) -> str:
    """A short rendering of one row for reports: the text alone, or ``name=value`` pairs."""
    row = features.iloc[position]
    if len(features.columns) == 1:
        return str(row.iloc[0])[:width]
    return ", ".join(f"{name}={value}" for name, value in row.items())[:width]


class LeakageReport(BaseModel):
    """How many evaluation rows also occur (normalised) in training, and whether that is allowed."""

    model_config = ConfigDict(frozen=True)

    train: str
    eval: str
    eval_rows: int
    overlapping_rows: int
    distinct_overlaps: int
    allowance: float
    examples: list[str]

    @property
    def share(self) -> float:
        """Overlapping share of evaluation rows."""
        return self.overlapping_rows / self.eval_rows if self.eval_rows else 0.0

    @property
    def ok(self) -> bool:
        """True when the overlap is within the allowance (zero allowance: no overlap at all)."""
        return self.overlapping_rows == 0 or (self.share <= self.allowance and self.allowance > 0)


def find_leakage(
    train_rows: pd.DataFrame, eval_rows: pd.DataFrame, *, train: str, eval: str, allowance: float
) -> LeakageReport:
    """Compare the typed features of two datasets and report their normalised row overlap."""
    train_keys = set(row_keys(train_rows))
    eval_keys = row_keys(eval_rows)
    hits = [position for position, key in enumerate(eval_keys) if key in train_keys]
    distinct = {key for key in eval_keys if key in train_keys}
    return LeakageReport(
        train=train,
        eval=eval,
        eval_rows=len(eval_keys),
        overlapping_rows=len(hits),
        distinct_overlaps=len(distinct),
        allowance=allowance,
        examples=[describe_row(eval_rows, position) for position in hits[:EXAMPLES]],
    )
