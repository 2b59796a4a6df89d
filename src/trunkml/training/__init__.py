"""Training: job specs, the contract with project code, MLflow runs, registration with lineage."""

from trunkml.training.contract import ModelPackage, TrainingJob

__all__ = ["ModelPackage", "TrainingJob"]
