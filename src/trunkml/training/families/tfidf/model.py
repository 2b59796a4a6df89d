"""A binary text classifier: TF-IDF features + class-weighted logistic regression.

Scores are P(positive class). Texts longer than ``window_words`` are scored in overlapping
word windows and the highest window score counts (a long post is positive if any
part of it is), as the seed did for its transformer. The decision threshold is
part of the model.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from trunkml.training.families.tfidf import features


def windows(text: str, size: int, stride: int) -> list[str]:
    """Split ``text`` into overlapping windows of ``size`` words (one window if it is short)."""
    words = text.split()
    if len(words) <= size:
        return [text]
    starts = range(0, max(len(words) - size, 0) + stride, stride)
    return [" ".join(words[start : start + size]) for start in starts if start < len(words)]


@dataclass
class TfidfClassifier:
    """A fitted model: vectorizers, linear weights, threshold and windowing settings."""

    vectorizers: dict[str, TfidfVectorizer]
    coef: np.ndarray
    intercept: float
    threshold: float
    window_words: int = 64
    window_stride: int = 48

    def _raw_scores(self, texts: list[str]) -> np.ndarray:
        logits = features.transform(self.vectorizers, texts) @ self.coef + self.intercept
        return np.asarray(1.0 / (1.0 + np.exp(-logits)), dtype=np.float64).ravel()

    def scores(self, texts: list[str]) -> np.ndarray:
        """P(positive) for each text, maximised over windows for long texts."""
        pieces: list[str] = []
        owners: list[int] = []
        for index, text in enumerate(texts):
            chunks = windows(text, self.window_words, self.window_stride)
            pieces.extend(chunks)
            owners.extend([index] * len(chunks))
        if not pieces:
            return np.zeros(0)
        piece_scores = self._raw_scores(pieces)
        result = np.zeros(len(texts))
        np.maximum.at(result, np.asarray(owners), piece_scores)
        return result

    def explain(self, text: str, top_k: int = 8) -> dict[str, Any]:
        """Exact contributions to the logit: each tf-idf feature's value times its coefficient.

        A long text is explained on the window that gave its score. ``base`` (the intercept) plus every
        contribution equals the logit; the listed ones are the ``top_k`` strongest each way, ``rest`` the
        sum of the others.
        """
        chunks = windows(text, self.window_words, self.window_stride)
        piece = chunks[int(np.argmax(self._raw_scores(chunks)))] if len(chunks) > 1 else chunks[0]
        contributions: list[tuple[str, float]] = []
        offset = 0
        for name in sorted(self.vectorizers):
            row = features.tfidf(self.vectorizers[name], [piece]).tocsr()
            terms = self._terms(name)
            for index, value in zip(row.indices.tolist(), row.data.tolist(), strict=True):
                label = f"word '{terms[index]}'" if name == "word" else f"chars '{terms[index]}'"
                contributions.append((label, float(value) * float(self.coef[offset + index])))
            offset += len(terms)
        logit = self.intercept + math.fsum(weight for _, weight in contributions)
        toward = sorted((c for c in contributions if c[1] > 0), key=lambda c: -c[1])[:top_k]
        against = sorted((c for c in contributions if c[1] < 0), key=lambda c: c[1])[:top_k]
        listed = math.fsum(weight for _, weight in toward + against)
        return {
            "method": "linear: tf-idf value x coefficient per word and character n-gram (exact)",
            "exact": True,
            "output": "logit",
            "value": logit,
            "base": self.intercept,
            "toward": [{"feature": f, "weight": w} for f, w in toward],
            "against": [{"feature": f, "weight": w} for f, w in against],
            "rest": logit - self.intercept - listed,
        }

    def _terms(self, name: str) -> list[str]:
        """Feature index → n-gram of one vectorizer (built once)."""
        cache: dict[str, list[str]] = self.__dict__.setdefault("_term_cache", {})
        if name not in cache:
            vocabulary = self.vectorizers[name].vocabulary_
            terms = [""] * len(vocabulary)
            for term, index in vocabulary.items():
                terms[index] = term
            cache[name] = terms
        return cache[name]

    def predict(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(labels, scores): label 1 where the score reaches the threshold."""
        scores = self.scores(texts)
        return (scores >= self.threshold).astype(np.int64), scores

    def save(self, folder: Path) -> None:
        """Write the model as JSON + npz files (safe to load: no pickle)."""
        features.save(self.vectorizers, folder)
        np.savez(folder / "linear.npz", coef=self.coef.astype(np.float64), intercept=np.array([self.intercept]))
        config = {
            "threshold": self.threshold,
            "window_words": self.window_words,
            "window_stride": self.window_stride,
            "vectorizers": sorted(self.vectorizers),
        }
        (folder / "model.json").write_text(json.dumps(config, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> TfidfClassifier:
        """Read a model written by :meth:`save`."""
        config: dict[str, Any] = json.loads((folder / "model.json").read_text(encoding="utf-8"))
        with np.load(folder / "linear.npz", allow_pickle=False) as arrays:
            coef, intercept = arrays["coef"], float(arrays["intercept"][0])
        return cls(
            vectorizers=features.load(folder, tuple(config["vectorizers"])),
            coef=coef,
            intercept=intercept,
            threshold=float(config["threshold"]),
            window_words=int(config["window_words"]),
            window_stride=int(config["window_stride"]),
        )
