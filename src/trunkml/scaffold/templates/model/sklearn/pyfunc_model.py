"""MLflow model-from-code for ${model}: input column ``text``, output ``label`` and ``score``.

The weights come from the JSON/npz files ``train.py`` wrote; nothing is unpickled.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel
from mlflow.pyfunc.model import PythonModelContext
from sklearn.feature_extraction.text import TfidfVectorizer


class Model(PythonModel):
    """``predict(DataFrame[text]) -> DataFrame[label, score]``."""

    def load_context(self, context: PythonModelContext) -> None:
        folder = Path(context.artifacts["model"])
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        weights = np.load(folder / "weights.npz")
        self.vocabulary: dict[str, int] = config["vocabulary"]
        self.threshold = float(config["threshold"])
        self.analyze = TfidfVectorizer(ngram_range=(1, int(config["max_ngram"]))).build_analyzer()
        self.idf, self.coef, self.intercept = weights["idf"], weights["coef"], float(weights["intercept"][0])

    def _score(self, text: str) -> float:
        counts: dict[int, int] = {}
        for term in self.analyze(text):
            index = self.vocabulary.get(term)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        if not counts:
            return float(1 / (1 + np.exp(-self.intercept)))
        indices = np.fromiter(counts, dtype=np.int64)
        values = (1 + np.log(np.fromiter(counts.values(), dtype=np.float64))) * self.idf[indices]
        values /= np.linalg.norm(values)
        return float(1 / (1 + np.exp(-(values @ self.coef[indices] + self.intercept))))

    def predict(
        self, context: PythonModelContext, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        scores = np.array([self._score(str(text)) for text in model_input["text"]], dtype=np.float64)
        return pd.DataFrame({"label": (scores >= self.threshold).astype(np.int64), "score": scores})


mlflow.models.set_model(Model())
