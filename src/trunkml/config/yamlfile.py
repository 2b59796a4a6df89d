"""Load YAML project files into typed records with errors that name file and line.

PyYAML's safe loader gives us the data; composing the node tree as well gives us
the line of every key, so a pydantic validation error can point at the line a
user has to fix. Duplicate keys are refused because YAML silently keeps the
last one, which hides mistakes.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from trunkml.errors import ConfigError

ModelT = TypeVar("ModelT", bound=BaseModel)
Location = tuple[str | int, ...]


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from exc


def _index_lines(node: yaml.Node, path: Path, prefix: Location, out: dict[Location, int]) -> None:
    """Record the 1-based line of every mapping key and sequence item under ``node``."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(f"{path}:{line}: duplicate key '{key}'")
            seen.add(key)
            out[(*prefix, key)] = line
            _index_lines(value_node, path, (*prefix, key), out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            out[(*prefix, index)] = item.start_mark.line + 1
            _index_lines(item, path, (*prefix, index), out)


def load_mapping(path: Path) -> tuple[dict[str, Any], dict[Location, int]]:
    """Parse ``path`` as a YAML mapping; return it with a key-location → line index."""
    text = _read_text(path)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: malformed YAML: {exc.problem or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: malformed YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: expected a mapping of fields, got {type(data).__name__}")
    lines: dict[Location, int] = {}
    if node is not None:
        _index_lines(node, path, (), lines)
    return data, lines


def _line_for(loc: Location, lines: Mapping[Location, int]) -> int | None:
    """Return the line of the deepest known prefix of ``loc``."""
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def describe_validation_error(path: Path, exc: ValidationError, lines: Mapping[Location, int]) -> str:
    """Turn a pydantic error into one line per problem, each with file:line and field."""
    problems = []
    for err in exc.errors():
        loc: Location = tuple(err["loc"])
        field = ".".join(str(part) for part in loc) or "(document)"
        line = _line_for(loc, lines)
        where = f"{path}:{line}" if line else str(path)
        if err["type"] == "extra_forbidden":
            problems.append(f"{where}: unknown field '{field}'")
        else:
            problems.append(f"{where}: field '{field}': {err['msg']}")
    return "\n".join(problems)


def load_model(path: Path, model: type[ModelT], **context: Any) -> ModelT:
    """Load ``path`` and validate it as ``model``; any problem raises :class:`ConfigError`."""
    data, lines = load_mapping(path)
    try:
        return model.model_validate(data, context=context or None)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(path, exc, lines)) from exc


def dump_model(path: Path, record: BaseModel) -> None:
    """Write ``record`` as YAML atomically (temp file + rename), keeping field order."""
    payload = record.model_dump(mode="json", exclude_none=True)
    text = yaml.safe_dump(payload, sort_keys=False, allow_unicode=True, width=100)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp_name, path)
    finally:
        Path(tmp_name).unlink(missing_ok=True)
