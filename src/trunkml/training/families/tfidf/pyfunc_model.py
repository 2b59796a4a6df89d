"""MLflow model-from-code for the TF-IDF family: input column ``text``, output ``label`` and ``score``.

Loaded by MLflow (``mlflow.pyfunc.load_model``, ``mlflow models serve``); the
weights come from JSON/npz artifacts, never from a pickle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel
from mlflow.pyfunc.model import PythonModelContext

from trunkml.training.families.packaging import texts_of
from trunkml.training.families.tfidf.model import TfidfClassifier


class TfidfPyfunc(PythonModel):
    """pyfunc wrapper: ``predict(DataFrame[text]) -> DataFrame[label, score]``."""

    def load_context(self, context: PythonModelContext) -> None:
        self.model = TfidfClassifier.load(Path(context.artifacts["model"]))

    # `pd.DataFrame` is a hint MLflow accepts without deriving a schema from it: the
    # signature logged with the model is the contract.
    def predict(
        self, context: PythonModelContext, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        labels, scores = self.model.predict(texts_of(model_input))
        return pd.DataFrame({"label": labels, "score": scores})

    def explain(self, texts: list[str], top_k: int = 8) -> list[dict[str, Any]]:
        """Exact per-feature contributions to each text's logit (trunkml's explanation contract)."""
        return [self.model.explain(text, top_k) for text in texts_of(texts)]


mlflow.models.set_model(TfidfPyfunc())
