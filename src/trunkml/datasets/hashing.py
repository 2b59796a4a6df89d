"""Streaming sha256 at disk speed.

Large reads into reused buffers keep Python overhead per byte negligible. For
files, a reader thread fills the next buffer while the caller hashes the current
one (both release the GIL), so a cold read and hashing overlap instead of adding
up; several files also hash in parallel threads.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

CHUNK_BYTES = 4 * 1024 * 1024
PIPELINE_BUFFERS = 3
Progress = Callable[[int], None]
_DONE = -1


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


class _Reader(threading.Thread):
    """Reads a file into free buffers and hands (index, count) pairs to the hasher."""

    def __init__(self, path: Path, buffers: list[bytearray]) -> None:
        super().__init__(daemon=True, name=f"read {path.name}")
        self.path = path
        self.buffers = buffers
        self.free: queue.Queue[int] = queue.Queue()
        self.filled: queue.Queue[tuple[int, int] | BaseException] = queue.Queue()
        self.stopped = threading.Event()
        for index in range(len(buffers)):
            self.free.put(index)

    def run(self) -> None:
        try:
            with self.path.open("rb", buffering=0) as stream:
                while not self.stopped.is_set():
                    index = self.free.get()
                    count = 0 if self.stopped.is_set() else stream.readinto(self.buffers[index])
                    self.filled.put((index, count or 0))
                    if not count:
                        return
        except BaseException as exc:  # handed to the hashing thread, which re-raises it
            self.filled.put(exc)

    def stop(self) -> None:
        self.stopped.set()
        self.free.put(_DONE)


def hash_file(path: Path, progress: Progress | None = None) -> tuple[str, int]:
    """Return (sha256 hex, size in bytes) of the file at ``path``, overlapping reads and hashing."""
    if path.stat().st_size <= 2 * CHUNK_BYTES:
        with path.open("rb", buffering=0) as stream:
            return hash_stream(stream, progress=progress)
    buffers = [bytearray(CHUNK_BYTES) for _ in range(PIPELINE_BUFFERS)]
    reader = _Reader(path, buffers)
    reader.start()
    digest = hashlib.sha256()
    size = 0
    try:
        while True:
            item = reader.filled.get()
            if isinstance(item, BaseException):
                raise item
            index, count = item
            if not count:
                return digest.hexdigest(), size
            digest.update(memoryview(buffers[index])[:count])
            size += count
            if progress is not None:
                progress(count)
            reader.free.put(index)
    finally:
        reader.stop()
        reader.join(timeout=5)


def hash_bytes(data: bytes) -> str:
    """Return the sha256 hex digest of ``data``."""
    return hashlib.sha256(data).hexdigest()
