"""Rendering shared by all commands: Rich consoles, JSON documents, progress bars, errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from types import TracebackType
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

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
    # Escaped: messages quote user input and commands such as `pip install 'trunkml[transformers]'`.
    err.print(f"[bold red]error:[/] {escape(error.message)}", highlight=False)
    if error.hint:
        err.print(f"[dim]hint:[/] {escape(error.hint)}", highlight=False)
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


class PhaseProgress(AbstractContextManager["PhaseProgress"]):
    """One line on stderr: a spinner with the current phase, and a bar while a loop reports its steps.

    ``phase(text)`` shows what is happening; ``steps(text, done, total)`` fills the bar
    (training epochs and steps). Nothing is drawn when stderr is not a terminal.
    """

    def __init__(self, first: str = "starting") -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        )
        self._task = self._progress.add_task(first, total=None)

    def __enter__(self) -> PhaseProgress:
        self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._progress.stop()

    def phase(self, text: str) -> None:
        """Show ``text`` with a spinner and no bar."""
        self._progress.update(self._task, description=text, total=None, completed=0)

    def steps(self, text: str, done: int, total: int) -> None:
        """Show ``text`` with a bar at ``done`` of ``total``."""
        self._progress.update(self._task, description=text, total=total, completed=done)
