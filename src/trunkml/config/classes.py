"""The names of a binary target's two classes, as people read them in reports, plots and the API.

A dataset pointer declares them (``classes: {0: ..., 1: ...}``); training stores them with the model
version (the ``trunkml.classes`` tag), so the gate report, explanations, the server's OpenAPI
description and its status page name them the same way. trunkml itself never names a domain.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

DEFAULT_CLASS_NAMES: tuple[str, str] = ("negative (0)", "positive (1)")


def class_names(classes: Mapping[int, str] | None) -> tuple[str, str]:
    """(name of class 0, name of class 1), each falling back to its default."""
    given = classes or {}
    return given.get(0, DEFAULT_CLASS_NAMES[0]), given.get(1, DEFAULT_CLASS_NAMES[1])


def class_names_from_tag(value: str | None) -> tuple[str, str]:
    """The names stored in a version's ``trunkml.classes`` tag (a JSON list); the defaults when absent or bad."""
    try:
        names = json.loads(value) if value else None
    except ValueError:
        names = None
    if isinstance(names, list) and len(names) == 2 and all(isinstance(name, str) and name for name in names):
        return names[0], names[1]
    return DEFAULT_CLASS_NAMES


def class_list_from_tag(value: str | None) -> tuple[str, ...]:
    """Every class name in a version's ``trunkml.classes`` tag, in label order (empty when absent or bad)."""
    try:
        names = json.loads(value) if value else None
    except ValueError:
        return ()
    if isinstance(names, list) and names and all(isinstance(name, str) and name for name in names):
        return tuple(names)
    return ()


def class_names_tag(names: Sequence[str]) -> str:
    """The ``trunkml.classes`` tag value for ``names``."""
    return json.dumps(list(names), ensure_ascii=False)
