"""Reference profiles: what the monitor compares live traffic against (texts, and any typed features).

The same featurisation runs in three places, so it lives here, below them all:
training builds a :class:`ReferenceProfile` from the training and evaluation sets,
the prediction log stores each served text's features instead of (or beside) the
text, and the monitor rebuilds the window's distributions from those features.

* **Tokens** are lower-cased Unicode words; URLs, @mentions and numbers become one
  placeholder each, so user names and links do not look like new vocabulary. A token
  is kept as its CRC-32 (a 32-bit hash): the log holds no readable words, and the
  reference vocabulary (tokens seen at least ``VOCAB_MIN_COUNT`` times in training)
  is a sorted array of hashes with counts, exact up to hash collisions (about 1 in
  400 000 for a 10 000-word vocabulary).
* **Character 3-grams** of the normalised text go into ``NGRAM_BUCKETS`` buckets (a
  hashed frequency sketch): they see emoji, punctuation and spelling that tokens miss.
"""

from __future__ import annotations

import base64
import re
import zlib
from collections.abc import Mapping, Sequence
from typing import Annotated, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field

PROFILE_SCHEMA = 1
VOCAB_MIN_COUNT = 2
NGRAM = 3
NGRAM_BUCKETS = 1 << 16
SAMPLE_LIMIT = 5000
PROFILE_CHUNK = 10_000
_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_WORD = re.compile(r"<url>|@user|\w+")
_PRIMES = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9], dtype=np.uint64)
_MIX = np.uint64(0xFF51AFD7ED558CCD)


def normalise(text: str) -> str:
    """Lower-case, URLs and @mentions as placeholders, whitespace collapsed: what tokens and 3-grams are cut from."""
    text = text.lower()
    if "http" in text or "www." in text:  # the substitutions cost more than these checks
        text = _URL.sub(" <url> ", text)
    if "@" in text:
        text = _MENTION.sub(" @user ", text)
    return " ".join(text.split())


def _tokens(normal: str) -> list[str]:
    return ["<num>" if token.isdigit() else token for token in _WORD.findall(normal)]


def tokens(text: str) -> list[str]:
    """The text's word tokens, lower-cased, with URLs, mentions and numbers as placeholders."""
    return _tokens(normalise(text))


def _hashes(words: list[str]) -> NDArray[np.uint32]:
    return np.fromiter((zlib.crc32(word.encode("utf-8")) for word in words), dtype=np.uint32, count=len(words))


def token_hashes(text: str) -> NDArray[np.uint32]:
    """The CRC-32 of each token of ``text``, in order."""
    return _hashes(tokens(text))


def _ngrams(normal: list[str]) -> list[NDArray[np.uint16]]:
    lengths = np.array([len(text) for text in normal], dtype=np.int64)
    codes = np.frombuffer("\x00".join(normal).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if codes.size < NGRAM:
        return [np.zeros(0, dtype=np.uint16) for _ in normal]
    width = codes.size - NGRAM + 1
    mixed = sum((codes[i : i + width] * _PRIMES[i] for i in range(NGRAM)), start=np.zeros(width, dtype=np.uint64))
    buckets = ((mixed * _MIX) >> np.uint64(48)).astype(np.uint16)
    starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1]))
    return [buckets[start : start + max(length - NGRAM + 1, 0)] for start, length in zip(starts, lengths, strict=True)]


def ngram_buckets(texts: Sequence[str]) -> list[NDArray[np.uint16]]:
    """Each text's character 3-grams as bucket numbers in ``[0, NGRAM_BUCKETS)`` (vectorised over all texts)."""
    return _ngrams([normalise(text) for text in texts])


def text_features(texts: Sequence[str]) -> list[tuple[bytes, bytes]]:
    """Per text: its token hashes (little-endian uint32) and 3-gram buckets (little-endian uint16), as stored."""
    normal = [normalise(text) for text in texts]
    grams = _ngrams(normal)
    return [
        (_hashes(_tokens(text)).astype("<u4").tobytes(), gram.astype("<u2").tobytes())
        for text, gram in zip(normal, grams, strict=True)
    ]


def pack(values: NDArray[np.generic]) -> str:
    """Little-endian bytes of ``values`` as base64 (how arrays travel in JSON)."""
    return base64.b64encode(values.astype(values.dtype.newbyteorder("<")).tobytes()).decode("ascii")


def unpack(text: str, dtype: type[np.generic]) -> NDArray[np.generic]:
    """The inverse of :func:`pack`."""
    return np.frombuffer(base64.b64decode(text), dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype)


class CountTable(BaseModel):
    """Keys (hashes or buckets, sorted) with their counts, and the total they were counted from."""

    model_config = ConfigDict(frozen=True)

    keys: str = Field(description="base64 of sorted little-endian uint32 keys")
    counts: str = Field(description="base64 of little-endian uint32 counts, one per key")
    total: int = Field(ge=0, description="everything counted, including what is not in the table")

    @classmethod
    def build(cls, values: NDArray[np.generic], min_count: int = 1) -> CountTable:
        """Count ``values`` and keep the keys seen at least ``min_count`` times."""
        keys, counts = np.unique(np.asarray(values, dtype=np.uint32), return_counts=True)
        kept = counts >= min_count
        return cls(keys=pack(keys[kept]), counts=pack(counts[kept].astype(np.uint32)), total=int(values.size))

    @classmethod
    def from_dense(cls, counts: NDArray[np.int64]) -> CountTable:
        """A table of the non-zero cells of a dense count vector (cell number = key)."""
        keys = np.flatnonzero(counts).astype(np.uint32)
        return cls(keys=pack(keys), counts=pack(counts[keys].astype(np.uint32)), total=int(counts.sum()))

    def arrays(self) -> tuple[NDArray[np.uint32], NDArray[np.uint32]]:
        """The keys and counts as arrays."""
        return unpack(self.keys, np.uint32).astype(np.uint32), unpack(self.counts, np.uint32).astype(np.uint32)

    def other_share(self) -> float:
        """The share of the total whose keys are not in the table."""
        kept = int(self.arrays()[1].sum())
        return 0.0 if self.total == 0 else (self.total - kept) / self.total


class ReferenceProfile(BaseModel):
    """What a model version's data looked like at training time, for drift checks in production.

    Text statistics come from the training set (what the model learnt from); scores and the
    predicted-positive rate come from the evaluation set (what the model did on unseen data),
    and so does the baseline out-of-vocabulary rate: a training text is never out of its own
    vocabulary, while unseen text always has some new words.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = PROFILE_SCHEMA
    train_rows: int = Field(ge=1)
    eval_rows: int = Field(ge=1)
    text_chars: list[int] = Field(
        default_factory=list, description=f"text lengths of up to {SAMPLE_LIMIT} training rows (text models)"
    )
    vocabulary: CountTable = Field(
        default_factory=lambda: CountTable.build(np.zeros(0, dtype=np.uint32)),
        description=f"training tokens seen at least {VOCAB_MIN_COUNT} times",
    )
    ngrams: CountTable = Field(
        default_factory=lambda: CountTable.build(np.zeros(0, dtype=np.uint32)),
        description="character 3-gram buckets of the training texts",
    )
    oov_rate: float = Field(default=0.0, ge=0, le=1, description="share of eval tokens outside the vocabulary")
    label_prior: float = Field(ge=0, le=1, description="share of positives in training")
    eval_scores: list[float] = Field(description=f"scores of up to {SAMPLE_LIMIT} eval rows")
    eval_positive_rate: float = Field(ge=0, le=1, description="share of eval rows predicted positive")
    features: dict[str, FeatureProfile] = Field(
        default_factory=dict, description="per feature of a model with several inputs (none for text models)"
    )
    feature_kinds: dict[str, str] = Field(
        default_factory=dict, description="each profiled feature's type: numeric, categorical, boolean or text"
    )
    task: Literal["binary", "multiclass", "regression"] = Field(
        default="binary", description="the model's task: what its scores are (P(label 1), top probability, value)"
    )
    eval_classes: dict[str, int] = Field(
        default_factory=dict, description="multi-class models: eval rows predicted as each class index"
    )


def _sample(values: ArrayLike, seed: int = 0) -> NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64)
    if array.size <= SAMPLE_LIMIT:
        return array
    return np.random.default_rng(seed).choice(array, SAMPLE_LIMIT, replace=False)


def all_tokens(texts: Sequence[str]) -> NDArray[np.uint32]:
    """Every token hash of ``texts``, concatenated."""
    parts = [token_hashes(text) for text in texts]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint32)


def out_of_vocabulary(hashes: NDArray[np.uint32], vocabulary: NDArray[np.uint32]) -> float:
    """The share of ``hashes`` not in the sorted ``vocabulary`` (0 when there are none)."""
    if hashes.size == 0:
        return 0.0
    return float(1.0 - np.isin(hashes, vocabulary, assume_unique=False).mean())


def build_profile(
    train_texts: Sequence[str],
    train_labels: ArrayLike,
    eval_texts: Sequence[str],
    eval_labels_predicted: ArrayLike,
    eval_scores: ArrayLike,
) -> ReferenceProfile:
    """Profile a model version's training set and its predictions on the evaluation set."""
    vocabulary = CountTable.build(all_tokens(train_texts), VOCAB_MIN_COUNT)
    grams = np.zeros(NGRAM_BUCKETS, dtype=np.int64)
    for start in range(0, len(train_texts), PROFILE_CHUNK):  # bounded memory on large corpora
        chunk = ngram_buckets(train_texts[start : start + PROFILE_CHUNK])
        grams += np.bincount(np.concatenate(chunk).astype(np.int64), minlength=NGRAM_BUCKETS) if chunk else 0
    predicted = np.asarray(eval_labels_predicted, dtype=np.int64)
    return ReferenceProfile(
        train_rows=len(train_texts),
        eval_rows=len(eval_texts),
        text_chars=[int(v) for v in _sample([len(text) for text in train_texts])],
        vocabulary=vocabulary,
        ngrams=CountTable.from_dense(grams),
        oov_rate=out_of_vocabulary(all_tokens(eval_texts), vocabulary.arrays()[0]),
        label_prior=float(np.mean(np.asarray(train_labels, dtype=np.float64))),
        eval_scores=[float(v) for v in _sample(eval_scores)],
        eval_positive_rate=float(predicted.mean()) if predicted.size else 0.0,
    )


class NumericProfile(BaseModel):
    """A numeric feature (or a text feature's length) at training time: a sample of its values."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["numeric"] = "numeric"
    sample: list[float] = Field(description=f"up to {SAMPLE_LIMIT} non-missing training values")
    missing_rate: float = Field(ge=0, le=1)


class CategoricalProfile(BaseModel):
    """A categorical or boolean feature at training time: how often each value occurred."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["categorical"] = "categorical"
    counts: dict[str, int]
    missing_rate: float = Field(ge=0, le=1)


FeatureProfile = Annotated[NumericProfile | CategoricalProfile, Field(discriminator="kind")]


def category_key(value: object) -> str | None:
    """How a categorical or boolean value is counted (None for missing)."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    return str(value).lower() if isinstance(value, bool) else str(value)


def feature_profile(kind: str, values: Sequence[object]) -> FeatureProfile:
    """The profile of one feature's values (``kind``: numeric, categorical, boolean or text)."""
    if kind == "text":
        return NumericProfile(sample=[float(v) for v in _sample([len(str(t)) for t in values])], missing_rate=0.0)
    if kind == "numeric":
        array = np.asarray(values, dtype=np.float64)
        present = array[~np.isnan(array)]
        missing = 1.0 - present.size / max(array.size, 1)
        return NumericProfile(sample=[float(v) for v in _sample(present)], missing_rate=missing)
    keys = [category_key(value) for value in values]
    counted = [key for key in keys if key is not None]
    table: dict[str, int] = {}
    for key in counted:
        table[key] = table.get(key, 0) + 1
    return CategoricalProfile(counts=table, missing_rate=1.0 - len(counted) / max(len(keys), 1))


def build_tabular_profile(
    train_features: Mapping[str, tuple[str, Sequence[object]]],
    train_labels: ArrayLike,
    eval_rows: int,
    eval_labels_predicted: ArrayLike,
    eval_scores: ArrayLike,
) -> ReferenceProfile:
    """Profile a version trained on several features: ``{name: (type, training values)}`` and its eval answers."""
    predicted = np.asarray(eval_labels_predicted, dtype=np.int64)
    labels = np.asarray(train_labels, dtype=np.float64)
    return ReferenceProfile(
        train_rows=labels.size,
        eval_rows=eval_rows,
        label_prior=float(labels.mean()),
        eval_scores=[float(v) for v in _sample(eval_scores)],
        eval_positive_rate=float(predicted.mean()) if predicted.size else 0.0,
        features={name: feature_profile(kind, values) for name, (kind, values) in train_features.items()},
        feature_kinds={name: kind for name, (kind, _) in train_features.items()},
    )


ReferenceProfile.model_rebuild()
