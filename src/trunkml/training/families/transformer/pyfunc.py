"""MLflow model-from-code for the transformer family: input column ``text``, output ``label`` and ``score``.

The weights load from safetensors and the tokenizer from JSON, never from a pickle.
Prediction runs in batches under ``torch.inference_mode()`` on the best device there is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel
from mlflow.pyfunc.model import PythonModelContext

from trunkml.training.families.packaging import texts_of
from trunkml.training.families.transformer.classifier import TransformerClassifier


class TransformerPyfunc(PythonModel):
    """pyfunc wrapper: ``predict(DataFrame[text]) -> DataFrame[label, score]``."""

    def load_context(self, context: PythonModelContext) -> None:
        self.model = TransformerClassifier.load(Path(context.artifacts["model"]))

    def predict(
        self, context: PythonModelContext, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        labels, scores = self.model.predict(texts_of(model_input))
        return pd.DataFrame({"label": labels, "score": scores})


mlflow.models.set_model(TransformerPyfunc())
