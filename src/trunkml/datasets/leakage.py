"""Train/eval leakage: the same text, up to trivial differences, on both sides.

Texts are normalised (Unicode NFKC, case-folded, accents stripped, URLs and
@mentions replaced by placeholders, punctuation and spacing collapsed) so that a
retweet with another link or a different capitalisation still counts as the same
text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

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
    train_texts: Iterable[str], eval_texts: Iterable[str], *, train: str, eval: str, allowance: float
) -> LeakageReport:
    """Compare two text collections and report their normalised overlap."""
    train_keys = {normalize_text(text) for text in train_texts}
    eval_list = list(eval_texts)
    eval_keys = [normalize_text(text) for text in eval_list]
    hits = [text for text, key in zip(eval_list, eval_keys, strict=True) if key in train_keys]
    distinct = {key for key in eval_keys if key in train_keys}
    return LeakageReport(
        train=train,
        eval=eval,
        eval_rows=len(eval_list),
        overlapping_rows=len(hits),
        distinct_overlaps=len(distinct),
        allowance=allowance,
        examples=[text[:120] for text in hits[:EXAMPLES]],
    )
