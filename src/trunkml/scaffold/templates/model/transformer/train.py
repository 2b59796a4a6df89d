"""Training entrypoint for ${model}: ``train(job) -> ModelPackage`` (``entrypoint`` in jobs/${model}/train.yaml).

Fine-tunes a BERT-like encoder with trunkml's bundled trainer (``trunkml.training.families.transformer``:
overlapping windows, class weights, a threshold tuned on held-out training rows, safetensors
weights and a pyfunc wrapper). To change the training itself, copy that module into this package
and call your copy here. Needs ``pip install 'trunkml[transformers]'``.
"""

from __future__ import annotations

from trunkml.training import ModelPackage, TrainingJob, require_extra


def train(job: TrainingJob) -> ModelPackage:
    """Fine-tune the encoder named by ``baseline`` in params.yaml on ``job.train``."""
    require_extra("transformers", ("torch", "transformers", "tokenizers", "safetensors"), "the transformer family")
    from trunkml.training.families.transformer.fit import fine_tune  # torch loads only when this family trains

    return fine_tune(job)
