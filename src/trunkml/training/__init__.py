"""Training: job specs, the contract with project code, MLflow runs, registration with lineage."""

from trunkml.training.contract import ModelPackage, TrainingJob
from trunkml.training.extras import require_extra

__all__ = ["ModelPackage", "TrainingJob", "require_extra"]
