"""Evaluation: the champion/challenger gate, predictions (cached), decision records and reports."""

from trunkml.evaluation.gate import GateDecision, GuardResult, compare_predictions
from trunkml.evaluation.policy import GatePolicy, Guard, PrimaryMetric, Test

__all__ = ["GateDecision", "GatePolicy", "Guard", "GuardResult", "PrimaryMetric", "Test", "compare_predictions"]
