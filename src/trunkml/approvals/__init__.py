"""Approvals: who signed off on a model version, and whether that satisfies an environment's rule."""

from trunkml.approvals.approval import Approval, approve, counted, is_author

__all__ = ["Approval", "approve", "counted", "is_author"]
