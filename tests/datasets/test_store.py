"""The content-addressed store: atomic writes, re-hash on every read, fail closed."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from trunkml.datasets.store import ContentStore, ObjectState
from trunkml.errors import IntegrityError, UnsafePathError

DATA = b"text,label\nola,0\n"
SHA = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def store(tmp_path: Path) -> ContentStore:
    return ContentStore(tmp_path / "datastore")


def leftovers(store: ContentStore) -> list[Path]:
    return [p for p in store.root.rglob("*") if p.is_file()]


def test_ingest_places_content_by_digest_read_only(store: ContentStore) -> None:
    digest, size = store.ingest(io.BytesIO(DATA), label="demo")
    assert (digest, size) == (SHA, len(DATA))
    path = store.object_path(SHA)
    assert path == store.root / "sha256" / SHA[:2] / SHA[2:]
    assert path.read_bytes() == DATA
    assert not os.access(path, os.W_OK) or os.geteuid() == 0
    assert oct(path.stat().st_mode & 0o777) == "0o444"
    assert store.read_verified(SHA, "demo") == DATA


def test_mismatch_on_ingest_stores_nothing(store: ContentStore) -> None:
    with pytest.raises(IntegrityError, match="sha256 mismatch"):
        store.ingest(io.BytesIO(DATA), expected="0" * 64, label="demo")
    assert leftovers(store) == []


class BrokenStream(io.RawIOBase):
    """A download that dies halfway."""

    def __init__(self) -> None:
        self.calls = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        self.calls += 1
        if self.calls > 1:
            raise ConnectionResetError("connection dropped")
        buffer[:4] = b"part"
        return 4


def test_a_failed_download_leaves_no_partial_file(store: ContentStore) -> None:
    with pytest.raises(ConnectionResetError):
        store.ingest(BrokenStream(), expected=SHA, label="demo")  # type: ignore[arg-type]
    assert leftovers(store) == []


def corrupt(path: Path, data: bytes) -> None:
    path.chmod(0o644)
    path.write_bytes(data)


@pytest.mark.parametrize(
    "damaged",
    [
        pytest.param(DATA[:5] + bytes([DATA[5] ^ 1]) + DATA[6:], id="one-byte-flip"),
        pytest.param(DATA[:-3], id="truncated"),
    ],
)
def test_damaged_objects_fail_closed(store: ContentStore, damaged: bytes) -> None:
    store.ingest(io.BytesIO(DATA), label="demo")
    corrupt(store.object_path(SHA), damaged)
    check = store.check(SHA)
    assert check.state is ObjectState.MISMATCH
    assert check.actual_sha256 == hashlib.sha256(damaged).hexdigest()
    with pytest.raises(IntegrityError, match=r"dataset 'demo' sha256 mismatch.*trunkml data pull demo"):
        store.read_verified(SHA, "demo")


def test_missing_object(store: ContentStore) -> None:
    assert store.check(SHA).state is ObjectState.MISSING
    with pytest.raises(IntegrityError, match="not in the local store"):
        store.read_verified(SHA, "demo")


def test_symlinked_objects_are_not_followed(store: ContentStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside.csv"
    outside.write_bytes(DATA)
    path = store.object_path(SHA)
    path.parent.mkdir(parents=True)
    path.symlink_to(outside)
    assert store.check(SHA).state is ObjectState.UNSAFE
    with pytest.raises(UnsafePathError, match="symlink"):
        store.read_verified(SHA, "demo")


def test_only_digests_address_objects(store: ContentStore) -> None:
    with pytest.raises(UnsafePathError):
        store.object_path("../../etc/passwd")


def test_stale_temp_files_from_killed_runs_are_swept(store: ContentStore) -> None:
    tmp = store.root / "tmp"
    tmp.mkdir(parents=True)
    stale = tmp / "incoming-dead"
    stale.write_bytes(b"partial")
    os.utime(stale, (0, 0))
    store.ingest(io.BytesIO(DATA), label="demo")
    assert not stale.exists()
