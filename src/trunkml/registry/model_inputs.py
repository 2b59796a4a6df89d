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


def task_answers(output: Any, task: str) -> tuple[NDArray[Any], NDArray[np.float64]]:
    """(labels, scores) of a multi-class or regression model's answer.

    Multi-class: the class with the highest probability (0..K-1) and that probability. Regression: the
    prediction, as both. A non-finite answer is refused: no decision may rest on NaN.
    """
    values = np.asarray(output.to_numpy() if isinstance(output, pd.DataFrame | pd.Series) else output, dtype=float)
    if not np.isfinite(values).all():
        raise ValueError(f"the model answered {int(np.sum(~np.isfinite(values)))} non-finite value(s)")
    if task == "regression":
        if values.ndim == 2 and values.shape[1] == 1:
            values = values.reshape(-1)
        if values.ndim != 1:
            raise ValueError(f"a regression model answered shape {values.shape}; expected n predictions")
        return values, values
    if values.ndim == 2 and values.shape[1] >= 2:
        return values.argmax(axis=1).astype(np.int64), values.max(axis=1)
    if values.ndim == 1:  # class indices, without probabilities
        return values.astype(np.int64), np.ones(len(values))
    raise ValueError(f"a multi-class model answered shape {values.shape}; expected n × K probabilities")


def predict_rows(model: Any, rows: Sequence[Row] | pd.DataFrame) -> tuple[NDArray[Any], NDArray[np.float64]]:
    """(labels, scores) of a loaded pyfunc ``model`` for ``rows`` (see ``label_score`` and ``task_answers``)."""
    output = model.predict(input_frame(rows, feature_types(model)))
    task = task_of(model)
    return label_score(output, threshold_of(model)) if task == "binary" else task_answers(output, task)
