"""The infra-validation record ("blessing") of a model version, kept in the registry.

``trunkml infra-validate`` serves a candidate alone in a sandboxed copy of the server and
records what it measured: a JSON document in the version's run artifacts and a summary tag
on the version (``trunkml.infra.summary``), which travels with cross-environment copies.
Promotion reads the tag; the document is the evidence a reviewer can open.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from trunkml.registry.artifacts import record_on_version
from trunkml.registry.connection import Registry
from trunkml.registry.modelversion import ModelVersionRecord

SUMMARY_TAG = "trunkml.infra.summary"
ARTIFACT_DIR = "trunkml/infra"


class InfraSummary(BaseModel):
    """What promotion needs to know about a version's infra validation."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    passed: bool
    model_digest: str
    budget_digest: str
    validated_at: str
    record: str
    p99_ms: float | None = None
    peak_memory_mib: float | None = None
    reasons: list[str] = []


def record_blessing(
    registry: Registry, name: str, version: int, document: dict[str, Any], summary: InfraSummary
) -> None:
    """Store the full ``document`` with the version's run and its ``summary`` as a version tag."""
    tags = {SUMMARY_TAG: summary.model_dump_json()}
    record_on_version(registry, name, version, document, summary.record, tags)


def blessing_of(record: ModelVersionRecord) -> InfraSummary | None:
    """The version's latest infra validation (None if it has none or the tag is unreadable)."""
    raw = record.raw_tags.get(SUMMARY_TAG)
    if not raw:
        return None
    try:
        return InfraSummary.model_validate(json.loads(raw))
    except (ValueError, ValidationError):
        return None
