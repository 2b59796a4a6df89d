"""Why a model flags a text: per-feature contributions, from the model itself or by occlusion.

A model whose pyfunc wrapper has ``explain(texts: list[str], top_k: int) -> list[dict]``
explains itself; each dict is validated as an :class:`Explanation` (the reference linear
model returns exact tf-idf × coefficient contributions that add up to its logit). Any other
model is explained by **occlusion**: each word is left out in turn and the drop in the score
is that word's contribution. Occlusion needs one prediction per word (``MAX_OCCLUDED_WORDS``
at most, all in one batch per text), works for any model, and is approximate: contributions
do not add up to the score.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from trunkml.errors import ExplanationError

MAX_OCCLUDED_WORDS = 64
DEFAULT_TOP_K = 8
OCCLUSION = f"occlusion: the score's drop when each word (at most {MAX_OCCLUDED_WORDS}) is left out"


class Contribution(BaseModel):
    """How much one feature (a word, an n-gram) moves the output toward label 1 (+) or away from it (-)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    feature: str = Field(max_length=500)
    weight: float = Field(allow_inf_nan=False)


class Explanation(BaseModel):
    """One text's explanation: the strongest contributions both ways and how they add up."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: str = Field(max_length=300)
    exact: bool = Field(description="True when base + every contribution equals the output exactly.")
    output: str = Field(max_length=40, description="What the contributions add up to: 'logit' or 'score'.")
    value: float = Field(allow_inf_nan=False, description="The output for this text.")
    base: float = Field(allow_inf_nan=False, description="The output with no features (e.g. the intercept).")
    toward: list[Contribution] = Field(max_length=100, description="Strongest contributions toward label 1.")
    against: list[Contribution] = Field(max_length=100, description="Strongest contributions toward label 0.")
    rest: float | None = Field(
        default=None, allow_inf_nan=False, description="Sum of the contributions not listed (exact methods)."
    )


def _self_explaining(model: Any) -> Any | None:
    try:
        python_model = model.unwrap_python_model()
    except Exception:  # not a PythonModel-based pyfunc: no self-explanation
        return None
    return python_model if callable(getattr(python_model, "explain", None)) else None


def explain_texts(model: Any, texts: list[str], top_k: int = DEFAULT_TOP_K) -> list[Explanation]:
    """Explanations of a loaded pyfunc ``model`` for ``texts`` (its own method, else occlusion)."""
    own = _self_explaining(model)
    if own is None:
        return [occlusion(model, text, top_k) for text in texts]
    try:
        raw = own.explain(list(texts), top_k)
        found = [Explanation.model_validate(item) for item in raw]
    except ValidationError as exc:
        raise ExplanationError(f"the model's explain() returned an unexpected shape: {exc.errors()[0]['msg']}") from exc
    if len(found) != len(texts):
        raise ExplanationError(f"the model's explain() returned {len(found)} explanations for {len(texts)} texts")
    return found


def occlusion(model: Any, text: str, top_k: int) -> Explanation:
    """Leave each word out in turn (one batch) and rank the words by how much the score drops."""
    words = text.split()[:MAX_OCCLUDED_WORDS]
    variants = [text] + [" ".join(words[:i] + words[i + 1 :]) for i in range(len(words))]
    scores = [float(s) for s in model.predict(pd.DataFrame({"text": variants}))["score"]]
    if not all(math.isfinite(s) for s in scores):
        raise ExplanationError("the model answered a non-finite score while being explained")
    full = scores[0]
    parts = [Contribution(feature=word, weight=full - score) for word, score in zip(words, scores[1:], strict=True)]
    return Explanation(
        method=OCCLUSION,
        exact=False,
        output="score",
        value=full,
        base=full,
        toward=sorted((p for p in parts if p.weight > 0), key=lambda p: -p.weight)[:top_k],
        against=sorted((p for p in parts if p.weight < 0), key=lambda p: p.weight)[:top_k],
    )
