"""Hashing: the pipelined file hasher agrees with hashlib on every size, and reports progress."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from trunkml.datasets.hashing import CHUNK_BYTES, hash_file


@pytest.mark.parametrize("size", [0, 1, CHUNK_BYTES - 1, 2 * CHUNK_BYTES, 2 * CHUNK_BYTES + 1, 5 * CHUNK_BYTES + 12345])
def test_hash_file_matches_hashlib(tmp_path: Path, size: int) -> None:
    path = tmp_path / "blob"
    data = os.urandom(size)
    path.write_bytes(data)
    seen: list[int] = []
    assert hash_file(path, seen.append) == (hashlib.sha256(data).hexdigest(), size)
    assert sum(seen) == size


def test_errors_in_the_consumer_stop_the_reader(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(os.urandom(4 * CHUNK_BYTES))

    def explode(_: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        hash_file(path, explode)


def test_a_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        hash_file(tmp_path / "nope")
