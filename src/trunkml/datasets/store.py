"""Content-addressed dataset store under ``<TRUNKML_HOME>/datastore``.

Objects live at ``sha256/<2 hex>/<62 hex>``; the path is derived from the digest
alone, so no name or URI can steer a write. Writes go to a temp file in the
store, are hashed while copied, and are renamed into place only when the digest
matches. Reads re-hash every byte and fail closed on any mismatch.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

from trunkml.datasets.hashing import Progress, hash_bytes, hash_file, hash_stream
from trunkml.datasets.pointer import SHA256_PATTERN
from trunkml.errors import IntegrityError, UnavailableError, UnsafePathError

STALE_TEMP_SECONDS = 3600


class ObjectState(StrEnum):
    """What a verification found for one object."""

    OK = "ok"
    MISSING = "missing"
    MISMATCH = "mismatch"
    UNSAFE = "unsafe"


@dataclass(frozen=True)
class ObjectCheck:
    """The outcome of re-hashing one stored object."""

    sha256: str
    state: ObjectState
    actual_sha256: str | None = None
    size_bytes: int | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        """True when the content is present and matches its digest."""
        return self.state is ObjectState.OK


class ContentStore:
    """A folder of immutable, sha256-addressed blobs."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def object_path(self, sha256: str) -> Path:
        """Return where the object with ``sha256`` lives (whether or not it exists)."""
        if not SHA256_PATTERN.match(sha256):
            raise UnsafePathError(f"'{sha256}' is not a sha256 digest")
        return self.root / "sha256" / sha256[:2] / sha256[2:]

    def _safe_path(self, sha256: str) -> Path:
        """Return the object path after refusing symlinks or anything resolving outside the store."""
        path = self.object_path(sha256)
        if path.is_symlink():
            raise UnsafePathError(
                f"store object {sha256[:12]} is a symlink; refusing to follow it", hint=f"delete {path}"
            )
        root = self.root.resolve()
        if (path.parent.exists() and not path.parent.resolve().is_relative_to(root)) or (
            path.exists() and not path.resolve().is_relative_to(root)
        ):
            raise UnsafePathError(
                f"store object {sha256[:12]} resolves outside the store (symlinked folder?)",
                hint=f"remove the link at {path.parent}",
            )
        return path

    def contains(self, sha256: str) -> bool:
        """True if an object file exists for ``sha256`` (not a verification)."""
        return self.object_path(sha256).is_file()

    def check(self, sha256: str, progress: Progress | None = None) -> ObjectCheck:
        """Re-hash the stored object and report whether it matches its digest."""
        try:
            path = self._safe_path(sha256)
        except UnsafePathError as exc:
            return ObjectCheck(sha256, ObjectState.UNSAFE, detail=exc.message)
        if not path.is_file():
            return ObjectCheck(sha256, ObjectState.MISSING, detail="not in the local store")
        actual, size = hash_file(path, progress)
        if actual != sha256:
            return ObjectCheck(sha256, ObjectState.MISMATCH, actual, size, detail=f"content hashes to {actual}")
        return ObjectCheck(sha256, ObjectState.OK, actual, size)

    def read_verified(self, sha256: str, label: str) -> bytes:
        """Return the object's bytes after hashing exactly those bytes; raise on any mismatch.

        Hashing the in-memory copy (not the file a second time) means the bytes a
        caller parses are the bytes that were verified.
        """
        path = self._safe_path(sha256)
        if not path.is_file():
            raise IntegrityError(
                f"dataset '{label}' ({sha256[:12]}) is not in the local store", hint=f"run `trunkml data pull {label}`"
            )
        data = path.read_bytes()
        actual = hash_bytes(data)
        if actual != sha256:
            raise IntegrityError(
                f"dataset '{label}' sha256 mismatch: expected {sha256}, got {actual}",
                hint=f"run `trunkml data pull {label}` to restore it, or fix the pointer",
            )
        return data

    def ingest(
        self, stream: BinaryIO, *, expected: str | None = None, label: str, progress: Progress | None = None
    ) -> tuple[str, int]:
        """Copy ``stream`` into the store; return (sha256, size). A mismatch leaves nothing behind."""
        tmp_dir = self.root / "tmp"
        try:
            tmp_dir.mkdir(parents=True, exist_ok=True)
            self._sweep_stale(tmp_dir)
            handle, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="incoming-")
        except OSError as exc:
            raise UnavailableError(
                f"cannot write to the data store at {self.root}: {exc.strerror}", hint="check TRUNKML_HOME"
            ) from exc
        tmp = Path(tmp_name)
        try:
            with os.fdopen(handle, "wb") as sink:
                digest, size = hash_stream(stream, sink, progress)
                sink.flush()
                os.fsync(sink.fileno())
            if expected is not None and digest != expected:
                raise IntegrityError(
                    f"dataset '{label}' sha256 mismatch: expected {expected}, got {digest}",
                    hint="the source changed or is corrupt; nothing was stored. Fix the source or the pointer",
                )
            self._place(tmp, digest)
            return digest, size
        finally:
            tmp.unlink(missing_ok=True)

    def ingest_file(
        self, path: Path, *, expected: str | None = None, label: str, progress: Progress | None = None
    ) -> tuple[str, int]:
        """Copy the file at ``path`` into the store (see :meth:`ingest`)."""
        with path.open("rb", buffering=0) as stream:
            return self.ingest(stream, expected=expected, label=label, progress=progress)

    def _place(self, tmp: Path, digest: str) -> None:
        target = self.object_path(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink():
            target.unlink()
        self._safe_path(digest)  # the shard folder itself must not lead outside the store
        os.chmod(tmp, 0o444)
        os.replace(tmp, target)  # atomic: readers see the old object or the new, never half

    @staticmethod
    def _sweep_stale(tmp_dir: Path) -> None:
        """Remove temp files left by a killed process (older than an hour, so never a live one)."""
        cutoff = time.time() - STALE_TEMP_SECONDS
        for leftover in tmp_dir.glob("incoming-*"):
            try:
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()
            except FileNotFoundError:
                continue
