"""Pipelines: the trunk-based story steps (model-ct, model-cd, ...) and the offline demo."""
