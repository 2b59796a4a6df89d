"""One gate for the names and paths that reach trunkml from the command line, YAML files and HTTP.

Names (jobs, models, datasets, endpoints) become folder names, registry keys and parts of report
paths, so they may not carry anything a file system or URL would interpret: no separators, no
``..``, no URL escapes (encoded or double-encoded), no ``#`` or ``;``, no control characters or NUL.
Paths written in project files must stay inside the folder they are relative to, symlinks included.
"""

from __future__ import annotations

import re
from pathlib import Path, PureWindowsPath
from urllib.parse import unquote

from trunkml.errors import UsageError

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _decoded(value: str) -> str:
    for _ in range(3):  # %252e -> %2e -> .
        once = unquote(value)
        if once == value:
            break
        value = once
    return value


def problem(value: str) -> str | None:
    """Why ``value`` is not safe as a name or as one part of a path, or None."""
    if "\x00" in value:
        return "it contains a NUL byte"
    if CONTROL.search(value):
        return "it contains a control character"
    if _decoded(value) != value:
        return "it is URL-encoded (%..)"
    if "/" in value or "\\" in value:
        return "it contains a path separator"
    if ".." in value:
        return "it contains '..'"
    if "#" in value or ";" in value:
        return "it contains '#' or ';'"
    return None


def name_problem(value: str, pattern: re.Pattern[str] = NAME) -> str | None:
    """Why ``value`` is not a safe name (None when it is)."""
    why = problem(value)
    if why is None and not pattern.fullmatch(value):
        why = "use letters, digits, '.', '_' and '-', starting with a letter or digit"
    return why


def check_name(value: str, kind: str, pattern: re.Pattern[str] = NAME) -> str:
    """``value`` if it is a safe ``kind`` name, else a UsageError that says why."""
    why = name_problem(value, pattern)
    if why is not None:
        raise UsageError(f"{kind} {value!r} is not allowed: {why}")
    return value


def check_path_text(value: str, kind: str) -> str:
    """``value`` as a path given on the command line: any folder, but no NUL, control characters or URL escapes."""
    if "\x00" in value or CONTROL.search(value):
        raise UsageError(f"{kind} {value!r} is not allowed: it contains a NUL byte or a control character")
    return value


def inside(base: Path, relative: str, kind: str) -> Path:
    """``base / relative`` if ``relative`` is a plain relative path that stays inside ``base`` (symlinks resolved)."""
    why: str | None = None
    if "\x00" in relative or CONTROL.search(relative):
        why = "it contains a NUL byte or a control character"
    elif _decoded(relative) != relative:
        why = "it is URL-encoded (%..)"
    elif Path(relative).is_absolute() or PureWindowsPath(relative).is_absolute() or relative.startswith("\\"):
        why = "it is an absolute path; give one relative to the project"
    elif "\\" in relative:
        why = "it contains a backslash"
    elif ".." in Path(relative).parts:
        why = "it contains '..'"
    elif "#" in relative or ";" in relative:
        why = "it contains '#' or ';'"
    elif relative.startswith("~"):
        why = "it starts with '~'"
    if why is None:
        target = base / relative
        if not target.resolve().is_relative_to(base.resolve()):
            why = f"it leads outside {base} (through a symlink)"
        else:
            return target
    raise UsageError(f"{kind} {relative!r} is not allowed: {why}")
