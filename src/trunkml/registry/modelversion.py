"""What trunkml knows about one model version: identity, aliases and full lineage."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from trunkml.config.classes import class_list_from_tag, class_names_from_tag
from trunkml.registry.lineage import CLASSES


class DatasetUse(BaseModel):
    """One dataset version a model was trained or evaluated on, with its digest."""

    model_config = ConfigDict(frozen=True)

    role: str
    ref: str
    sha256: str
    rows: int | None = None


class ModelVersionRecord(BaseModel):
    """A registered model version as `trunkml models show` presents it."""

    model_config = ConfigDict(frozen=True)

    name: str
    version: int
    aliases: list[str]
    status: str
    created_ms: int
    run_id: str | None
    source: str
    kind: str | None = None
    git_sha: str | None = None
    git_dirty: bool | None = None
    git_branch: str | None = None
    git_author: str | None = None
    job: str | None = None
    job_hash: str | None = None
    env_hash: str | None = None
    ct_key: str | None = None
    model_digest: str | None = None
    datasets: list[DatasetUse] = []
    split: dict[str, object] | None = None
    artifact_digests: dict[str, str] = {}
    params: dict[str, str] = {}
    metrics: dict[str, float] = {}
    run_status: str | None = None
    approvals: list[dict[str, Any]] = []
    """Approval records on the version (``trunkml.approval.*`` tags)."""
    gate: dict[str, str] = {}
    """The latest gate decision's tags (``trunkml.gate.*``)."""

    raw_tags: dict[str, str] = {}
    """Every ``trunkml.*`` tag of the version, as stored."""

    def tags_for_copy(self) -> dict[str, str]:
        """The lineage, digest, gate and approval tags to carry into another registry."""
        return dict(self.raw_tags)

    @property
    def class_names(self) -> tuple[str, str]:
        """The names of class 0 and class 1, as the training pointer declared them (defaults otherwise)."""
        return class_names_from_tag(self.raw_tags.get(CLASSES))

    @property
    def class_list(self) -> tuple[str, ...]:
        """Every class name in label order (multi-class versions list K; empty when the tag is absent)."""
        return class_list_from_tag(self.raw_tags.get(CLASSES))

    @property
    def ref(self) -> str:
        """``name/version`` for messages."""
        return f"{self.name}/{self.version}"
