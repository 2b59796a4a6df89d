"""Replaying a gate decision: recompute it from its inputs and compare it, byte for byte, with the stored one.

The stored decision document names its inputs: the eval pointer and its sha256, the champion,
the policy (in full) and the challenger. A replay re-reads the eval set (sha256-verified, failing
closed), takes both models' digest-verified predictions (from the cache, or recomputed from the
models when the cache is gone), decides again under the stored policy, and compares the canonical
JSON of the two decisions. Anyone can therefore check that a PROMOTE was what the statistics said.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict

from trunkml.config import Settings
from trunkml.datasets import DataService
from trunkml.errors import IntegrityError, RefusedError
from trunkml.evaluation.decision import NO_CHAMPION, summary
from trunkml.evaluation.evaluate import Report, decide, gate_inputs
from trunkml.evaluation.policy import GatePolicy
from trunkml.registry import ModelVersionRecord, Registry, show
from trunkml.registry.artifacts import document_digest, load_run_json


class Replay(BaseModel):
    """A stored decision next to its recomputation."""

    model_config = ConfigDict(frozen=True)

    model: str
    version: int
    champion: int | None
    eval: str
    document_intact: bool
    """The stored document still hashes to the digest its summary tag (and every approval) recorded."""
    identical: bool
    differences: list[str]
    stored: dict[str, Any]
    replayed: dict[str, Any]


def canonical(document: Any) -> str:
    """The bytes two decisions are compared on: sorted keys, no spaces."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)


def differences(stored: Any, replayed: Any, path: str = "") -> list[str]:
    """Every path where two JSON documents differ, with both values."""
    if isinstance(stored, dict) and isinstance(replayed, dict):
        found: list[str] = []
        for key in sorted(set(stored) | set(replayed)):
            found += differences(stored.get(key), replayed.get(key), f"{path}.{key}" if path else str(key))
        return found
    if isinstance(stored, list) and isinstance(replayed, list) and len(stored) == len(replayed):
        return [
            d for i, (a, b) in enumerate(zip(stored, replayed, strict=True)) for d in differences(a, b, f"{path}[{i}]")
        ]
    return (
        []
        if canonical(stored) == canonical(replayed)
        else [f"{path}: stored {canonical(stored)[:80]}, replayed {canonical(replayed)[:80]}"]
    )


def replay_decision(settings: Settings, registry: Registry, record: ModelVersionRecord, report: Report) -> Replay:
    """Recompute ``record``'s stored gate decision and compare it with what is stored."""
    found = summary(record)
    if found is None or not record.run_id:
        raise RefusedError(f"{record.ref} has no gate decision to replay")
    document = load_run_json(registry, record.run_id, found.record)
    if document is None:
        raise IntegrityError(f"{record.ref}'s decision document {found.record} is missing from the registry")
    try:
        eval_ref, eval_sha256, stored = (
            str(document["eval_dataset"]),
            str(document["eval_sha256"]),
            document["decision"],
        )
        policy = GatePolicy.model_validate(stored["policy"])
    except (KeyError, TypeError, ValueError) as exc:
        raise IntegrityError(f"{record.ref}'s decision document {found.record} is malformed: {exc}") from exc
    service = DataService(settings)
    evaluation = service.load_valid(eval_ref)
    if evaluation.pointer.sha256 != eval_sha256:
        raise IntegrityError(
            f"{eval_ref} is now {evaluation.pointer.sha256[:12]}…, but the decision was made on "
            f"{eval_sha256[:12]}…: the eval pointer changed, so the decision cannot be replayed"
        )
    if policy.digest != stored.get("policy_digest"):
        raise IntegrityError(f"{record.ref}'s stored policy does not hash to its recorded digest: it was edited")
    champion = None if found.champion == NO_CHAMPION else show(registry, record.name, found.champion)
    _, _, decision = decide(settings, registry, gate_inputs(service, evaluation), record, champion, policy, report)
    replayed = decision.model_dump(mode="json")
    return Replay(
        model=record.name,
        version=record.version,
        champion=champion.version if champion else None,
        eval=evaluation.pointer.ref,
        document_intact=document_digest(document) == found.record_sha256,
        identical=canonical(stored) == canonical(replayed),
        differences=differences(stored, replayed),
        stored=stored,
        replayed=replayed,
    )
