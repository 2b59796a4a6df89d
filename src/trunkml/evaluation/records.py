"""Decision records: a gate decision stored with the challenger, and the check later steps make.

A decision is only as good as the evaluation set it was made on. Approval and
promotion call :func:`require_current_decision`, which refuses a decision whose eval
digest no longer matches the current eval pointer.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from trunkml.datasets import DataService
from trunkml.datasets.pointer import DatasetRef
from trunkml.errors import RefusedError
from trunkml.registry import ModelVersionRecord

PREFIX = "trunkml.gate."
DECISION = f"{PREFIX}decision"
P_VALUE = f"{PREFIX}p_value"
EVAL = f"{PREFIX}eval"
EVAL_SHA256 = f"{PREFIX}eval_sha256"
CHAMPION = f"{PREFIX}champion"
POLICY = f"{PREFIX}policy_digest"
RECORD = f"{PREFIX}record"
DECIDED_AT = f"{PREFIX}decided_at"


class DecisionSummary(BaseModel):
    """The gate tags of a version, as later steps read them."""

    model_config = ConfigDict(frozen=True)

    decision: str
    eval: str
    eval_sha256: str
    champion: str
    p_value: str
    record: str
    decided_at: str


def summary(record: ModelVersionRecord) -> DecisionSummary | None:
    """The latest gate decision recorded on a version, if any."""
    gate = record.gate
    if DECISION not in gate:
        return None
    return DecisionSummary(
        decision=gate[DECISION],
        eval=gate.get(EVAL, ""),
        eval_sha256=gate.get(EVAL_SHA256, ""),
        champion=gate.get(CHAMPION, ""),
        p_value=gate.get(P_VALUE, ""),
        record=gate.get(RECORD, ""),
        decided_at=gate.get(DECIDED_AT, ""),
    )


def require_current_decision(record: ModelVersionRecord, service: DataService, eval_ref: str) -> DecisionSummary:
    """Refuse unless the version has a gate decision made on the current version of ``eval_ref``."""
    found = summary(record)
    if found is None:
        raise RefusedError(
            f"{record.ref} has no gate decision", hint=f"run `trunkml evaluate --challenger {record.version}`"
        )
    current = service.catalog.get(DatasetRef.parse(eval_ref))
    if found.eval_sha256 != current.sha256:
        raise RefusedError(
            f"{record.ref}'s gate decision was made on eval data {found.eval_sha256[:12]}…, but the current "
            f"{current.ref} is {current.sha256[:12]}…",
            hint=f"re-run `trunkml evaluate --challenger {record.version}` on the current evaluation set",
        )
    return found
