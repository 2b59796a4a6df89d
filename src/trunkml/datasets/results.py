"""Result records of data operations: what the CLI renders and ``--json`` prints."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from trunkml.datasets.pointer import DatasetPointer


class AddResult(BaseModel):
    """What ``data add`` did: the pointer in force and whether a new version was written."""

    model_config = ConfigDict(frozen=True)

    pointer: DatasetPointer
    created: bool
    previous_version: int | None
    read_from: str


class Where(StrEnum):
    """Where verified content was found."""

    STORE = "store"
    MIRROR = "mirror"
    URI = "uri"
    NOWHERE = "nowhere"


class SyncResult(BaseModel):
    """Outcome of verifying or pulling one dataset version."""

    model_config = ConfigDict(frozen=True)

    dataset: str
    sha256: str
    ok: bool
    where: Where
    detail: str = ""
    size_bytes: int | None = None
    seconds: float = 0.0
    exit_code: int = 0


class SyncSummary(BaseModel):
    """All results of one ``verify`` or ``pull``; the worst exit code wins."""

    model_config = ConfigDict(frozen=True)

    results: list[SyncResult]

    @property
    def ok(self) -> bool:
        """True when every dataset resolved to content with its recorded hash."""
        return all(result.ok for result in self.results)

    @property
    def exit_code(self) -> int:
        """0 if all ok, else the most severe per-dataset exit code."""
        return max((result.exit_code for result in self.results), default=0)
