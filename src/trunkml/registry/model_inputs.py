"""What a registered model is asked and what it answers, for any input schema and any MLflow flavor.

An input row is a text (a model whose signature is one text column) or a record
(``{feature: value}``). A model answers either trunkml's own frame (``label``,
``score``), or what a standard flavor's pyfunc gives: class probabilities (``n × 2``)
or positive-class scores (``n``). Those are turned into labels with the threshold
that training recorded in the model's ``MLmodel`` metadata, so every loader (the
gate, the server, batch scoring, infra validation) reads the same decision rule
from the same verified files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

Row = str | Mapping[str, Any]
THRESHOLD_KEY = "trunkml_threshold"
SCHEMA_KEY = "trunkml_schema"
BASELINE_KEY = "trunkml_baseline"
DEFAULT_THRESHOLD = 0.5
MLFLOW_TYPES = {"numeric": "double", "boolean": "boolean", "categorical": "string", "text": "string"}
"""A schema feature type → the MLflow column type of its signature."""


def input_frame(rows: Sequence[Row] | pd.DataFrame, columns: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The frame a pyfunc predicts on: records as typed columns (``columns``: name → MLflow type), texts as ``text``."""
    if isinstance(rows, pd.DataFrame):
        return rows
    if rows and not isinstance(rows[0], str):
        frame = pd.DataFrame.from_records([dict(row) for row in rows])  # type: ignore[arg-type]
        if not columns:
            return frame
        frame = frame.reindex(columns=list(columns))
        for name, kind in columns.items():
            if kind in ("double", "float", "long", "integer"):
                frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
        return frame
    return pd.DataFrame({"text": list(rows)})


def boosting_frame(frame: pd.DataFrame, columns: Mapping[str, str]) -> pd.DataFrame:
    """What XGBoost and LightGBM take natively: strings as pandas categories, flags as 0/1 (NaN when missing).

    ``columns`` maps feature names to MLflow type names (the signature's). Both libraries store
    the training categories in the model and map a request's categories by name, so an unseen
    category is a missing value, as in training.
    """
    out = frame.copy()
    for name, kind in columns.items():
        if name not in out.columns:
            continue
        if kind == "string":
            out[name] = out[name].astype("category")
        elif kind == "boolean":
            out[name] = pd.to_numeric(out[name].map({True: 1.0, False: 0.0}), errors="coerce").astype(float)
    return out


def metadata(model: Any) -> dict[str, Any]:
    """The ``metadata`` of a loaded pyfunc's ``MLmodel`` file (empty when it has none)."""
    meta = getattr(getattr(model, "metadata", None), "metadata", None)
    return dict(meta) if isinstance(meta, dict) else {}


def threshold_of(model: Any) -> float:
    """The decision threshold training recorded with the model (0.5 when none was recorded)."""
    value = metadata(model).get(THRESHOLD_KEY)
    return float(value) if value is not None else DEFAULT_THRESHOLD


def feature_types(model: Any) -> dict[str, str] | None:
    """Input column name → MLflow type name, in signature order (None when the model has no signature)."""
    signature = getattr(getattr(model, "metadata", None), "signature", None)
    inputs = getattr(signature, "inputs", None)
    if inputs is None or not inputs.has_input_names():
        return None
    return {str(spec.name): str(getattr(spec.type, "name", spec.type)) for spec in inputs.inputs}


def label_score(output: Any, threshold: float) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """(labels, positive-class scores) from any binary model's answer; see the module docstring."""
    if isinstance(output, pd.DataFrame) and {"label", "score"} <= set(output.columns):
        return output["label"].to_numpy(dtype=np.int64), output["score"].to_numpy(dtype=np.float64)
    values = np.asarray(output.to_numpy() if isinstance(output, pd.DataFrame | pd.Series) else output, dtype=float)
    if values.ndim == 2 and values.shape[1] == 2:
        scores = values[:, 1]
    elif values.ndim == 1 or (values.ndim == 2 and values.shape[1] == 1):
        scores = values.reshape(-1)
    else:
        raise ValueError(f"a binary model answered shape {values.shape}; expected n scores or n × 2 probabilities")
    return (scores >= threshold).astype(np.int64), scores.astype(np.float64)


def task_of(model: Any) -> str:
    """binary, multiclass or regression: the task of the dataset the model was trained on (binary if unrecorded)."""
    schema = metadata(model).get(SCHEMA_KEY)
    return str(schema.get("task", "binary")) if isinstance(schema, dict) else "binary"


QUANTILE_PREFIX = "q"
"""A regression model's frame may add quantile columns named ``q0.05``, ``q0.95``, …: its prediction interval."""


@dataclass(frozen=True)
class Answers:
    """Everything a model answered for n rows, per task.

    ``labels``: 0/1 (binary), 0..K-1 (multi-class) or the prediction (regression). ``scores``: the probability of
    label 1, the top class's probability, or the prediction. ``probabilities``: n × K for multi-class models.
    ``intervals``: n × 2 (lower, upper) when a regression model answers quantiles, at ``levels``.
    """

    task: str
    labels: NDArray[Any]
    scores: NDArray[np.float64]
    probabilities: NDArray[np.float64] | None = None
    intervals: NDArray[np.float64] | None = None
    levels: tuple[float, float] | None = None

    def __len__(self) -> int:
        return len(self.scores)

    def to_wire(self) -> dict[str, Any]:
        """Plain lists, to cross a pipe or a JSON file."""
        return {
            "task": self.task,
            "labels": self.labels.tolist(),
            "scores": self.scores.tolist(),
            "probabilities": None if self.probabilities is None else self.probabilities.tolist(),
            "intervals": None if self.intervals is None else self.intervals.tolist(),
            "levels": None if self.levels is None else list(self.levels),
        }

    @classmethod
    def from_wire(cls, wire: Mapping[str, Any]) -> Answers:
        """The inverse of :meth:`to_wire`."""
        task = str(wire["task"])
        labels = np.asarray(wire["labels"], dtype=np.float64 if task == "regression" else np.int64)
        probabilities, intervals, levels = wire.get("probabilities"), wire.get("intervals"), wire.get("levels")
        return cls(
            task,
            labels,
            np.asarray(wire["scores"], dtype=np.float64),
            None if probabilities is None else np.asarray(probabilities, dtype=np.float64),
            None if intervals is None else np.asarray(intervals, dtype=np.float64).reshape(-1, 2),
            None if levels is None else (float(levels[0]), float(levels[1])),
        )

    def problem(self, n_classes: int | None = None) -> str | None:
        """Why these answers must not be served, or None: labels out of range, non-finite or impossible scores."""
        if not (np.isfinite(self.scores).all() and np.isfinite(np.asarray(self.labels, dtype=float)).all()):
            return "the model answered a non-finite value"
        if self.task == "regression":
            if self.intervals is not None and not np.isfinite(self.intervals).all():
                return "the model answered a non-finite interval"
            return None
        if self.task == "binary":
            bad = ~np.isin(self.labels, (0, 1)) | (self.scores < 0) | (self.scores > 1)
        else:
            k = (
                n_classes
                if n_classes is not None
                else (None if self.probabilities is None else self.probabilities.shape[1])
            )
            bad = (self.labels < 0) | (self.scores < 0) | (self.scores > 1 + 1e-9)
            if k is not None:
                bad |= self.labels >= k
            if self.probabilities is not None:
                sums = self.probabilities.sum(axis=1)
                bad |= ~np.isfinite(sums) | (np.abs(sums - 1.0) > 1e-3) | (self.probabilities.min(axis=1) < 0)
                if k is not None and self.probabilities.shape[1] != k:
                    return f"the model answered {self.probabilities.shape[1]} class probabilities for {k} classes"
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            label, score = self.labels[i].item(), float(self.scores[i])
            return f"the model answered label {label!r} with score {score!r} on row {i}"
        return None

    def take(self, start: int, end: int) -> Answers:
        """Rows ``start:end``."""
        return Answers(
            self.task,
            self.labels[start:end],
            self.scores[start:end],
            None if self.probabilities is None else self.probabilities[start:end],
            None if self.intervals is None else self.intervals[start:end],
            self.levels,
        )


def _quantiles(output: pd.DataFrame) -> tuple[NDArray[np.float64], tuple[float, float]] | None:
    """(n × 2 lower/upper, their levels) from a frame's ``q<level>`` columns, or None without two of them."""
    found: dict[float, str] = {}
    for column in output.columns:
        name = str(column)
        if name.startswith(QUANTILE_PREFIX):
            try:
                level = float(name[len(QUANTILE_PREFIX) :])
            except ValueError:
                continue
            if 0.0 < level < 1.0:
                found[level] = name
    if len(found) < 2:
        return None
    low, high = min(found), max(found)
    return output[[found[low], found[high]]].to_numpy(dtype=np.float64), (low, high)


def task_answers(output: Any, task: str) -> Answers:
    """The answers of a multi-class or regression model.

    Multi-class: the class with the highest probability (0..K-1), that probability and every class's. Regression:
    the prediction (a frame's ``prediction`` column, or its only column), and an interval from its quantile
    columns. A non-finite answer is refused: no decision may rest on NaN.
    """
    interval = None
    if task == "regression" and isinstance(output, pd.DataFrame) and "prediction" in output.columns:
        interval = _quantiles(output)
        output = output["prediction"]
    raw = output.to_numpy() if isinstance(output, pd.DataFrame | pd.Series) else output
    try:
        values = np.asarray(raw, dtype=float)
    except (TypeError, ValueError) as exc:
        shown = np.asarray(raw, dtype=object).reshape(-1)[:3].tolist()
        raise ValueError(f"a {task} model must answer numbers; it answered {shown!r}") from exc
    if not np.isfinite(values).all():
        raise ValueError(f"the model answered {int(np.sum(~np.isfinite(values)))} non-finite value(s)")
    if task == "regression":
        if values.ndim == 2 and values.shape[1] == 1:
            values = values.reshape(-1)
        if values.ndim != 1:
            raise ValueError(f"a regression model answered shape {values.shape}; expected n predictions")
        if interval is None:
            return Answers(task, values, values)
        return Answers(task, values, values, intervals=interval[0], levels=interval[1])
    if values.ndim == 2 and values.shape[1] >= 2:
        return Answers(task, values.argmax(axis=1).astype(np.int64), values.max(axis=1), probabilities=values)
    if values.ndim == 1:  # class indices, without probabilities
        return Answers(task, values.astype(np.int64), np.ones(len(values)))
    raise ValueError(f"a multi-class model answered shape {values.shape}; expected n × K probabilities")


def answer_columns(answers: Answers, class_list: Sequence[str] = ()) -> dict[str, Any]:
    """The columns batch scoring writes for ``answers``, per task.

    Binary: ``label``, ``score``. Multi-class: ``label`` (the class index), ``class`` (its name), ``score`` (its
    probability) and ``p_<class>`` for every class. Regression: ``prediction``, and ``lower``/``upper`` when the
    model answers quantiles.
    """
    if answers.task == "regression":
        columns: dict[str, Any] = {"prediction": answers.scores}
        if answers.intervals is not None:
            columns.update(lower=answers.intervals[:, 0], upper=answers.intervals[:, 1])
        return columns
    if answers.task == "multiclass":
        width = answers.probabilities.shape[1] if answers.probabilities is not None else 0
        names = list(class_list) or [str(k) for k in range(width)]
        columns = {
            "label": answers.labels,
            "class": [names[k] if 0 <= k < len(names) else str(k) for k in answers.labels.tolist()],
            "score": answers.scores,
        }
        if answers.probabilities is not None:
            columns.update({f"p_{name}": answers.probabilities[:, k] for k, name in enumerate(names[:width])})
        return columns
    return {"label": answers.labels, "score": answers.scores}


def predict_answers(model: Any, rows: Sequence[Row] | pd.DataFrame) -> Answers:
    """Everything a loaded pyfunc ``model`` answers for ``rows``, per its task (see :class:`Answers`)."""
    output = model.predict(input_frame(rows, feature_types(model)))
    task = task_of(model)
    if task == "binary":
        labels, scores = label_score(output, threshold_of(model))
        return Answers(task, labels, scores)
    return task_answers(output, task)


def predict_rows(model: Any, rows: Sequence[Row] | pd.DataFrame) -> tuple[NDArray[Any], NDArray[np.float64]]:
    """(labels, scores) of a loaded pyfunc ``model`` for ``rows`` (see ``label_score`` and ``task_answers``)."""
    answers = predict_answers(model, rows)
    return answers.labels, answers.scores
