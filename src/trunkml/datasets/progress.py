"""How long-running data operations report progress without knowing who displays it."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Protocol

Advance = Callable[[int], None]


class ProgressFactory(Protocol):
    """Opens a progress display for ``label`` with ``total`` units (bytes), yielding an advance callback."""

    def __call__(self, label: str, total: int | None) -> AbstractContextManager[Advance]: ...


def _ignore(_: int) -> None:
    return None


def no_progress(label: str, total: int | None) -> AbstractContextManager[Advance]:
    """A progress factory that shows nothing (library default, tests)."""
    return nullcontext(_ignore)
