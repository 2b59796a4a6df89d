"""Why a model flags a text: per-feature contributions, from the model itself or by occlusion.

A model whose pyfunc wrapper has ``explain(texts: list[str], top_k: int) -> list[dict]``
explains itself; each dict is validated as an :class:`Explanation` (the reference linear
model returns exact tf-idf × coefficient contributions that add up to its logit). Any other
model is explained by **occlusion**: each word is left out in turn and the drop in the score
is that word's contribution. Occlusion needs one prediction per word (``MAX_OCCLUDED_WORDS``
at most, all in one batch per text), works for any model, and is approximate: contributions
do not add up to the score.

A record (a tabular row) scored by a scikit-learn pipeline that ends in a linear classifier
is explained **exactly**, in log-odds: each feature's contribution is the coefficients times
the change in its transformed columns when that feature alone takes its baseline value. The
contributions add up to the record's logit minus the baseline's when every transformed
column depends on one feature (scalers, imputers, one-hot encoders, TF-IDF); trunkml checks
that sum on every explanation and uses SHAP when it does not hold (interaction features).

Any other record is explained with **SHAP** (the ``shap`` package, the ``explain``
extra): Shapley values of the score against one reference, the training baseline recorded in
the model's ``MLmodel`` metadata (each feature's median or most common value). Each feature is
a player that either keeps the record's value or takes the baseline's, and the permutation
estimator (``SHAP_EVALS_PER_FEATURE`` predictions per feature, at most ``MAX_SHAP_EVALS``, in
one batch) returns contributions that add up exactly to the score minus the baseline's score.
Without ``shap`` installed, a record is explained by feature occlusion: each feature set to its
baseline in turn, one batch of features + 2 predictions, approximate.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from trunkml.errors import ExplanationError
from trunkml.registry.model_inputs import (
    BASELINE_KEY,
    SCHEMA_KEY,
    feature_types,
    input_frame,
    metadata,
    predict_answers,
    predict_rows,
    task_of,
)

MAX_OCCLUDED_WORDS = 64
DEFAULT_TOP_K = 8
OCCLUSION = f"occlusion: the score's drop when each word (at most {MAX_OCCLUDED_WORDS}) is left out"
FEATURE_OCCLUSION = "feature occlusion: the score's drop when each feature is set to its training baseline"
LINEAR_METHOD = "linear: coefficients × the change in each feature's columns from its training baseline (log-odds)"
SHAP_METHOD = "SHAP (permutation) values of the score against the training baseline"
SHAP_EVALS_PER_FEATURE = 10
MAX_SHAP_EVALS = 500


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


def explain_texts(model: Any, texts: Sequence[Any], top_k: int = DEFAULT_TOP_K) -> list[Explanation]:
    """Explanations of a loaded pyfunc ``model`` for ``texts`` or records (its own method, else occlusion)."""
    own = _self_explaining(model)
    if texts and not isinstance(texts[0], str):
        return [explain_record(model, row, top_k) for row in texts]
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


def _ranked(method: str, full: float, base: float, parts: list[Contribution], top_k: int) -> Explanation:
    return Explanation(
        method=method,
        exact=False,
        output="score",
        value=full,
        base=base,
        toward=sorted((p for p in parts if p.weight > 0), key=lambda p: -p.weight)[:top_k],
        against=sorted((p for p in parts if p.weight < 0), key=lambda p: p.weight)[:top_k],
    )


def warm_up(model: Any) -> None:
    """Explain one baseline record once, so the first request does not pay SHAP's JIT compilation (~10 s).

    Only for models of several features, and only when ``shap`` is installed; a model process calls it
    before it reports ready.
    """
    meta = metadata(model)
    features = [str(f["name"]) for f in (meta.get(SCHEMA_KEY) or {}).get("features", []) if isinstance(f, dict)]
    baseline = meta.get(BASELINE_KEY) or {}
    if len(features) < 2 or not baseline:
        return
    try:
        import shap  # noqa: F401 - only whether it is there
    except ImportError:
        return
    shap_record(model, {name: baseline.get(name, "") for name in features}, DEFAULT_TOP_K)


def explain_record(model: Any, row: Mapping[str, Any], top_k: int) -> Explanation:
    """Exact contributions of a linear pipeline; else SHAP values when ``shap`` is installed; else occlusion."""
    exact = linear_record(model, row, top_k)
    if exact is not None:
        return exact
    try:
        import shap  # noqa: F401 - only whether it is there
    except ImportError:
        return feature_occlusion(model, row, top_k)
    return shap_record(model, row, top_k)


def linear_parts(model: Any) -> tuple[Any, Any] | None:
    """(the transforming steps, the final classifier) of a pipeline ending in a binary linear classifier, else None."""
    pipeline = getattr(model, "estimator", None)
    steps = getattr(pipeline, "steps", None)
    if pipeline is None or not steps or len(steps) < 2:
        return None
    final = steps[-1][1]
    coef = getattr(final, "coef_", None)
    if coef is None or not hasattr(final, "decision_function") or getattr(coef, "shape", (0,))[0] != 1:
        return None
    return pipeline[:-1], final


def linear_record(model: Any, row: Mapping[str, Any], top_k: int) -> Explanation | None:
    """Exact log-odds contributions of ``row`` for a linear pipeline (see the module docstring); None otherwise."""
    import numpy as np

    parts = linear_parts(model)
    if parts is None:
        return None
    transform, final = parts
    baseline = metadata(model).get(BASELINE_KEY) or {}
    names = [name for name in row if name in baseline]
    variants = [dict(row)] + [{**row, name: baseline[name]} for name in names] + [{**row, **baseline}]
    columns = transform.transform(input_frame(variants, feature_types(model)))
    dense = np.asarray(columns.toarray() if hasattr(columns, "toarray") else columns, dtype=float)
    weights = np.asarray(final.coef_, dtype=float)[0]
    logits = dense @ weights + float(np.asarray(final.intercept_).reshape(-1)[0])
    values = [float(weights @ (dense[0] - dense[1 + i])) for i in range(len(names))]
    full, base = float(logits[0]), float(logits[-1])
    if not all(math.isfinite(v) for v in (*values, full, base)):
        raise ExplanationError("the model answered a non-finite score while being explained")
    if abs(full - base - sum(values)) > 1e-6 * max(1.0, abs(full)):
        return None  # some transformed column depends on several features: not additive, so not exact
    return _exact(LINEAR_METHOD, "logit", full, base, row, dict(zip(names, values, strict=True)), top_k)


def _exact(
    method: str, output: str, full: float, base: float, row: Mapping[str, Any], values: dict[str, float], top_k: int
) -> Explanation:
    """An exact explanation: the top contributions both ways, and the sum of the rest."""
    parts = [Contribution(feature=f"{name}={row[name]}"[:500], weight=value) for name, value in values.items()]
    explained = _ranked(method, full, base, parts, top_k)
    shown = sum(p.weight for p in (*explained.toward, *explained.against))
    return explained.model_copy(update={"exact": True, "output": output, "rest": sum(values.values()) - shown})


def _explained(model: Any, first: Any) -> Callable[[list[Any]], Any]:
    """The number an explanation takes apart, for rows like ``first``.

    A binary model's score (the probability of label 1), a regression model's prediction, or, for a multi-class
    model, the probability of the class it predicts for ``first``: a variant that tips to another class must
    still be measured on the same class, or the contributions would mix two classes' probabilities.
    """
    if task_of(model) != "multiclass":
        return lambda rows: predict_rows(model, rows)[1]
    predicted = int(predict_answers(model, [first]).labels[0])

    def probability(rows: list[Any]) -> Any:
        answers = predict_answers(model, rows)
        return answers.scores if answers.probabilities is None else answers.probabilities[:, predicted]

    return probability


def shap_record(model: Any, row: Mapping[str, Any], top_k: int) -> Explanation:
    """Exact-sum Shapley values of ``row``'s score against the training baseline (see the module docstring)."""
    import numpy as np
    from shap.explainers import Permutation
    from shap.maskers import Independent

    baseline = metadata(model).get(BASELINE_KEY) or {}
    names = [name for name in row if name in baseline]

    explained = _explained(model, row)

    def score(keep: Any) -> Any:
        variants = [{**row, **{n: baseline[n] for n, k in zip(names, kept, strict=True) if not k}} for kept in keep]
        return explained(variants)

    evals = min(MAX_SHAP_EVALS, max(2 * len(names) + 1, SHAP_EVALS_PER_FEATURE * len(names)))
    explainer = Permutation(score, Independent(np.zeros((1, len(names))), max_samples=1), seed=0)
    found = explainer(np.ones((1, len(names))), max_evals=evals, silent=True)
    values, base = [float(v) for v in found.values[0]], float(found.base_values[0])
    full = base + sum(values)
    if not all(math.isfinite(v) for v in (*values, base)):
        raise ExplanationError("the model answered a non-finite score while being explained")
    return _exact(SHAP_METHOD, "score", full, base, row, dict(zip(names, values, strict=True)), top_k)


def feature_occlusion(model: Any, row: Mapping[str, Any], top_k: int) -> Explanation:
    """Set each feature of ``row`` to its baseline in turn (one batch) and rank features by the score's drop."""
    baseline = metadata(model).get(BASELINE_KEY) or {}
    names = [name for name in row if name in baseline]
    variants = [dict(row)] + [{**row, name: baseline[name]} for name in names] + [{**row, **baseline}]
    scores = [float(s) for s in _explained(model, row)(variants)]
    if not all(math.isfinite(s) for s in scores):
        raise ExplanationError("the model answered a non-finite score while being explained")
    full = scores[0]
    parts = [
        Contribution(feature=f"{name}={row[name]}"[:500], weight=full - score)
        for name, score in zip(names, scores[1:-1], strict=True)
    ]
    return _ranked(FEATURE_OCCLUSION, full, scores[-1], parts, top_k)


def occlusion(model: Any, text: str, top_k: int) -> Explanation:
    """Leave each word out in turn (one batch) and rank the words by how much the score drops."""
    words = text.split()[:MAX_OCCLUDED_WORDS]
    variants = [text] + [" ".join(words[:i] + words[i + 1 :]) for i in range(len(words))]
    scores = [float(s) for s in _explained(model, text)(variants)]
    if not all(math.isfinite(s) for s in scores):
        raise ExplanationError("the model answered a non-finite score while being explained")
    full = scores[0]
    parts = [Contribution(feature=word, weight=full - score) for word, score in zip(words, scores[1:], strict=True)]
    return _ranked(OCCLUSION, full, full, parts, top_k)
