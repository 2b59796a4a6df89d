"""Where dataset bytes come from: the offline mirror, the pointer's URI, or the generator.

The store never trusts a source: all that is opened here is streamed through
:meth:`ContentStore.ingest`, which re-hashes it against the pointer.
"""

from __future__ import annotations

import glob
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

import fsspec
import httpx

from trunkml.datasets.generators import generate, generator_schemes
from trunkml.datasets.pointer import LOCAL_SCHEMES
from trunkml.errors import TrunkmlError, UnavailableError, UnsafePathError

MIRROR_SCAN_LIMIT = 100_000


def uri_file_name(uri: str) -> str:
    """Return the decoded last path segment of ``uri`` (the name searched for in a mirror)."""
    return PurePosixPath(unquote(urlsplit(uri).path)).name


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())


def mirror_candidates(mirror: Path, uri: str, sha256: str | None = None) -> list[Path]:
    """Files in ``mirror`` that may hold a URI's content: by sha256 first, then by file name.

    Files (or symlinks) that resolve outside the mirror are skipped, so a mirror
    cannot be used to read arbitrary files. Callers still verify what they read.
    """
    by_digest = [mirror / sha256, mirror / "sha256" / sha256[:2] / sha256[2:]] if sha256 else []
    found = [path for path in by_digest if path.is_file() and _inside(path, mirror)]
    wanted = uri_file_name(uri)
    if wanted:
        for index, path in enumerate(mirror.rglob(glob.escape(wanted))):
            if index >= MIRROR_SCAN_LIMIT:
                break
            if path.is_file() and _inside(path, mirror) and path not in found:
                found.append(path)
    return found


def local_path(uri: str, project_root: Path) -> Path:
    """Resolve a project-relative pointer URI, refusing anything that lands outside the project."""
    relative = unquote(urlsplit(uri).path)
    path = project_root / relative
    if not _inside(path, project_root):
        raise UnsafePathError(
            f"uri '{uri}' resolves outside the project (symlink?)", hint="point at a file inside the project"
        )
    return path


@contextmanager
def open_uri(uri: str, label: str, project_root: Path, timeout_s: float = 60.0) -> Iterator[BinaryIO]:
    """Open ``uri`` for binary streaming; unreachable sources raise exit-3 errors naming ``label``."""
    scheme = urlsplit(uri).scheme.lower()
    if scheme in generator_schemes():
        yield io.BytesIO(generate(uri))
        return
    if scheme in LOCAL_SCHEMES:
        path = local_path(uri, project_root)
        if not path.is_file():
            raise UnavailableError(
                f"dataset '{label}': {path} does not exist", hint="restore the file or fix the pointer's uri"
            )
        with path.open("rb") as stream:
            yield stream
        return
    if scheme in {"http", "https"}:
        with _open_http(uri, label, timeout_s) as stream:
            yield stream
        return
    try:
        with fsspec.open(uri, "rb") as stream:
            yield stream
    except ImportError as exc:
        raise UnavailableError(
            f"no filesystem driver for '{scheme}://' ({exc})",
            hint="install the matching extra, e.g. pip install 'trunkml[s3]'",
        ) from exc
    except (TrunkmlError, GeneratorExit):
        raise
    except Exception as exc:  # any transport failure: refused, reset, truncated, HTTP 4xx/5xx, timeout
        raise UnavailableError(
            f"cannot read dataset '{label}' from {uri}: {_describe(exc)}",
            hint="check the network, or set TRUNKML_DATA_MIRROR to a folder holding the file",
        ) from exc


class _HttpBody(io.RawIOBase):
    """A readable stream over an httpx response body (what the store hashes as it copies)."""

    def __init__(self, response: httpx.Response) -> None:
        self._chunks = response.iter_bytes()
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            self._pending = next(self._chunks, b"")
            if not self._pending:
                return 0
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count


@contextmanager
def _open_http(uri: str, label: str, timeout_s: float) -> Iterator[BinaryIO]:
    """Stream an HTTP(S) body with bounded timeouts; HTTP errors and broken transfers are exit-3 errors."""
    hint = "check the URL and the network, or set TRUNKML_DATA_MIRROR to a folder holding the file"
    try:
        with httpx.stream("GET", uri, timeout=httpx.Timeout(timeout_s), follow_redirects=True) as response:
            if response.status_code >= 400:
                raise UnavailableError(
                    f"cannot read dataset '{label}' from {uri}: HTTP {response.status_code}", hint=hint
                )
            yield _HttpBody(response)  # type: ignore[misc]
    except httpx.HTTPError as exc:  # refused, reset, truncated body, timeout
        raise UnavailableError(
            f"cannot read dataset '{label}' from {uri}: {type(exc).__name__}: {exc}", hint=hint
        ) from exc


def _describe(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such object"
    return f"{type(exc).__name__}: {str(exc) or 'no detail'}"
