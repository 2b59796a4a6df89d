"""Streaming sha256 at disk speed.

Large reads into one reused buffer keep Python overhead per byte negligible;
hashlib releases the GIL while hashing, so several files hash in parallel threads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

CHUNK_BYTES = 4 * 1024 * 1024
Progress = Callable[[int], None]


def hash_stream(stream: BinaryIO, sink: BinaryIO | None = None, progress: Progress | None = None) -> tuple[str, int]:
    """Hash ``stream`` to its end, optionally copying every byte to ``sink``; return (hex, size)."""
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK_BYTES)
    view = memoryview(buffer)
    size = 0
    while True:
        count = stream.readinto(view) if hasattr(stream, "readinto") else _read_into(stream, view)
        if not count:
            break
        chunk = view[:count]
        digest.update(chunk)
        if sink is not None:
            sink.write(chunk)
        size += count
        if progress is not None:
            progress(count)
    return digest.hexdigest(), size


def _read_into(stream: BinaryIO, view: memoryview) -> int:
    data = stream.read(len(view))
    view[: len(data)] = data
    return len(data)


def hash_file(path: Path, progress: Progress | None = None) -> tuple[str, int]:
    """Return (sha256 hex, size in bytes) of the file at ``path``."""
    with path.open("rb", buffering=0) as stream:
        return hash_stream(stream, progress=progress)


def hash_bytes(data: bytes) -> str:
    """Return the sha256 hex digest of ``data``."""
    return hashlib.sha256(data).hexdigest()
