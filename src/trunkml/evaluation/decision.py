"""Decision records: a gate decision stored with the challenger, and the checks later steps make.

A decision is stored twice: the full JSON document as an artifact of the challenger's run,
and a summary on the model version. Individual ``trunkml.gate.*`` tags are for people and
searches; the one ``trunkml.gate.summary`` tag is written last, in a single call, and is what
later steps read. It carries the sha256 of the JSON document, so the two cannot drift apart.

Approval and promotion call :func:`require_promotable_decision`: a decision counts only if
it says promote, was made on the current version of the eval pointer, against the current
champion, under the current policy, and its document is intact.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError

from trunkml.datasets import DataService
from trunkml.datasets.pointer import DatasetRef
from trunkml.errors import IntegrityError, RefusedError
from trunkml.registry import ModelVersionRecord, Registry, lineage
from trunkml.registry.artifacts import document_digest, load_run_json

PREFIX = "trunkml.gate."
SUMMARY = lineage.GATE_SUMMARY
NO_CHAMPION = "none"


class DecisionSummary(BaseModel):
    """What a version's latest gate decision says, as later steps read it."""

    model_config = ConfigDict(frozen=True)

    decision: str
    champion: str
    eval: str
    eval_sha256: str
    p_value: float | None
    policy_digest: str
    record: str
    record_sha256: str
    decided_at: str


def tags_for(summary: DecisionSummary) -> dict[str, str]:
    """The version tags for a decision; the summary tag comes last (dicts keep insertion order)."""
    readable = {
        f"{PREFIX}{key}": "" if value is None else str(value)
        for key, value in summary.model_dump().items()
        if key != "record_sha256"
    }
    return {**readable, SUMMARY: summary.model_dump_json()}


def summary(record: ModelVersionRecord) -> DecisionSummary | None:
    """The latest gate decision recorded on a version (from its summary tag), if any."""
    raw = record.gate.get(SUMMARY)
    if raw is None:
        return None
    try:
        return DecisionSummary.model_validate_json(raw)
    except ValidationError as exc:
        raise IntegrityError(f"{record.ref}'s gate summary tag is malformed", hint="re-run `trunkml evaluate`") from exc


def require_promotable_decision(
    registry: Registry,
    record: ModelVersionRecord,
    service: DataService,
    eval_ref: str,
    champion: int | None,
    policy_digest: str,
) -> DecisionSummary:
    """Refuse unless ``record`` has an intact PROMOTE decision that still applies today."""
    found = summary(record)
    rerun = f"re-run `trunkml evaluate --challenger {record.version}`"
    if found is None:
        raise RefusedError(
            f"{record.ref} has no gate decision", hint=f"run `trunkml evaluate --challenger {record.version}`"
        )
    if found.decision != "promote":
        raise RefusedError(
            f"{record.ref}'s gate decision is '{found.decision}'", hint="only a promoted challenger may proceed"
        )
    current = service.catalog.get(DatasetRef.parse(eval_ref))
    if found.eval_sha256 != current.sha256:
        raise RefusedError(
            f"{record.ref}'s gate decision was made on eval data {found.eval_sha256[:12]}…, but the current "
            f"{current.ref} is {current.sha256[:12]}…",
            hint=f"{rerun} on the current evaluation set",
        )
    expected_champion = NO_CHAMPION if champion is None else str(champion)
    if found.champion != expected_champion:
        raise RefusedError(
            f"{record.ref} was compared with champion {found.champion}, but the champion is now {expected_champion}",
            hint=rerun,
        )
    if found.policy_digest != policy_digest:
        raise RefusedError(f"{record.ref}'s gate decision was made under another gate policy", hint=rerun)
    document = load_run_json(registry, record.run_id, found.record) if record.run_id else None
    if document is None or document_digest(document) != found.record_sha256:
        raise IntegrityError(f"{record.ref}'s decision document {found.record} is missing or was changed", hint=rerun)
    return found
