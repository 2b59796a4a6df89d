"""Training entrypoint for ${model}: ``train(job) -> ModelPackage`` (``entrypoint`` in jobs/${model}/train.yaml).

Trains trunkml's TF-IDF family (``trunkml.training.families.tfidf``): word and character n-grams,
class-weighted logistic regression, a threshold tuned on out-of-fold scores of the training rows,
long texts scored in word windows, exact per-feature explanations, and JSON + npz weights (never a
pickle). Its knobs are in params.yaml. To change the training itself, copy that module into this
package and call your copy here.
"""

from __future__ import annotations

from trunkml.training import ModelPackage, TrainingJob
from trunkml.training.families.tfidf.fit import train_tfidf


def train(job: TrainingJob) -> ModelPackage:
    """Fit the TF-IDF family on ``job.train`` (columns ``text``, ``label``) with the job's params."""
    return train_tfidf(job)
