"""Misbehaving models for failure injection: real MLflow pyfunc models written from code."""

from __future__ import annotations

import warnings
from pathlib import Path

import mlflow

HEADER = """
import time
from typing import Any

import pandas as pd
from mlflow.models import set_model
from mlflow.pyfunc import PythonModel
from mlflow.pyfunc.model import PythonModelContext


class Model(PythonModel):
    def load_context(self, context: PythonModelContext) -> None:
        LOAD

    def predict(
        self, context: PythonModelContext, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        n = len(model_input)
"""
BODIES = {
    # Scores outside [0, 1]: must fail the smoke query.
    "bad_scores": "        return pd.DataFrame({'label': [1] * n, 'score': [7.5] * n})\n",
    # Passes the smoke query, then raises on every call: a shadow like this must never reach the client.
    "raises": (
        "        self.calls = getattr(self, 'calls', 0) + 1\n"
        "        if self.calls > 1:\n"
        "            raise RuntimeError('this model fails once serving')\n"
        "        return pd.DataFrame({'label': [0] * n, 'score': [0.25] * n})\n"
    ),
    # Passes the smoke query, then answers NaN: must never reach a client as a 200.
    "nan_later": (
        "        self.calls = getattr(self, 'calls', 0) + 1\n"
        "        score = float('nan') if self.calls > 1 else 0.25\n"
        "        return pd.DataFrame({'label': [0] * n, 'score': [score] * n})\n"
    ),
    # Answers correctly after a delay (the first calls are the smoke query, so loading stays quick).
    "slow": (
        "        if len(model_input) and str(model_input['text'].iloc[0]).startswith('slow'):\n"
        "            time.sleep(SLEEP_S)\n"
        "        return pd.DataFrame({'label': [0] * n, 'score': [0.25] * n})\n"
    ),
    # Flags every text: finds every positive, at the price of precision.
    "all_positive": "        return pd.DataFrame({'label': [1] * n, 'score': [0.9] * n})\n",
    # Preprocessing that depends on the batch: scores are lengths scaled by the batch's longest text, so a text
    # alone (as a client sends it) scores differently from the same text in the offline batch.
    "batch_scaled": (
        "        lengths = model_input['text'].astype(str).str.len().astype(float)\n"
        "        scores = (lengths / max(float(lengths.max()), 1.0)).clip(0.0, 1.0) if n else lengths\n"
        "        return pd.DataFrame({'label': (scores >= 0.5).astype(int), 'score': scores})\n"
    ),
    # Always sleeps (once the smoke query has passed).
    "sleeps": (
        "        self.calls = getattr(self, 'calls', 0) + 1\n"
        "        if self.calls > 1:\n"
        "            time.sleep(SLEEP_S)\n"
        "        return pd.DataFrame({'label': [0] * n, 'score': [0.25] * n})\n"
    ),
}


LOADS = {
    "": "pass",
    "crash": "raise RuntimeError('this model cannot load: weights file is corrupt')",
    "hang": "time.sleep(3600)",
}


def code_model(target: Path, kind: str, sleep_s: float = 1.0, load: str = "") -> Path:
    """Save the ``kind`` model (see BODIES) as an MLflow pyfunc folder under ``target``.

    ``load`` picks what loading does (see LOADS): nothing, raise, or hang.
    """
    target.mkdir(parents=True, exist_ok=True)
    code = target / f"{kind}{load}_model.py"
    code.write_text(
        f"SLEEP_S = {sleep_s}\n{HEADER.replace('LOAD', LOADS[load])}{BODIES[kind]}\n\nset_model(Model())\n",
        encoding="utf-8",
    )
    folder = target / f"{kind}{load}-pyfunc"
    with warnings.catch_warnings():  # MLflow's signature inference warns about the loose `params` hint
        warnings.simplefilter("ignore")
        mlflow.pyfunc.save_model(str(folder), python_model=str(code), pip_requirements=["pandas"])
    return folder
