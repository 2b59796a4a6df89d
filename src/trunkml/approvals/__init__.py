"""Approvals: signed statements over a version's evidence, who may sign them, and which ones count."""

from trunkml.approvals.approval import Approval, Statement, Verdict, counted, judge

__all__ = ["Approval", "Statement", "Verdict", "counted", "judge"]
