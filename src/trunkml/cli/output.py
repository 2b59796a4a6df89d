"""Rendering shared by all commands: Rich consoles, JSON documents, progress bars, errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from types import TracebackType
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from trunkml.errors import TrunkmlError

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
PROGRESS_MIN_BYTES = 16 * 1024 * 1024


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    return value


def print_json(document: Any) -> None:
    """Print exactly one JSON document on stdout (for ``--json``)."""
    print(json.dumps(_jsonable(document), ensure_ascii=False, indent=2, default=str))


def print_error(error: TrunkmlError, *, as_json: bool) -> None:
    """Show an error on stderr (and as the JSON document on stdout under ``--json``)."""
    err.print(f"[bold red]error:[/] {error.message}", highlight=False)
    if error.hint:
        err.print(f"[dim]hint:[/] {error.hint}", highlight=False)
    if as_json:
        print_json(error.to_dict())


def human_bytes(size: int | None) -> str:
    """Format a byte count for people (1.2 MiB)."""
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def _ignore(_: int) -> None:
    return None


class RichProgress(AbstractContextManager["RichProgress"]):
    """A progress factory that shows one Rich bar per large transfer, on stderr, when it is a terminal."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        )

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._progress.stop()

    @contextmanager
    def __call__(self, label: str, total: int | None) -> Iterator[Any]:
        if total is not None and total < PROGRESS_MIN_BYTES:
            yield _ignore
            return
        task = self._progress.add_task(label, total=total)
        try:
            yield lambda count: self._progress.advance(task, count)
        finally:
            self._progress.remove_task(task)
