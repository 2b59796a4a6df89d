"""Evaluation: the champion/challenger gate, predictions (cached), decision records and reports."""

from trunkml.evaluation.gate import compare_predictions
from trunkml.evaluation.policy import GatePolicy, Guard, PrimaryMetric, Test
from trunkml.evaluation.results import GateDecision, GuardResult

__all__ = ["GateDecision", "GatePolicy", "Guard", "GuardResult", "PrimaryMetric", "Test", "compare_predictions"]
