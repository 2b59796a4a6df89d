"""The one error hierarchy: exit codes and HTTP statuses a user and a script can rely on."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import pytest

import trunkml
from trunkml import errors


@pytest.mark.parametrize(
    ("error", "exit_code"),
    [
        (errors.IntegrityError, 1),
        (errors.ValidationFailedError, 1),
        (errors.LeakageError, 1),
        (errors.DataFormatError, 1),
        (errors.ConfigError, 2),
        (errors.UsageError, 2),
        (errors.NotFoundError, 2),
        (errors.UnsafePathError, 2),
        (errors.UnavailableError, 3),
    ],
)
def test_each_error_kind_carries_the_documented_exit_code(error: type[errors.TrunkmlError], exit_code: int) -> None:
    assert error("x").exit_code == exit_code


def test_http_statuses_are_client_errors_except_unavailable() -> None:
    assert errors.UsageError("x").http_status == 400
    assert errors.NotFoundError("x").http_status == 404
    assert errors.UnavailableError("x").http_status == 503


def test_message_and_hint_render_together_and_as_json() -> None:
    error = errors.IntegrityError("dataset 'x' sha256 mismatch", hint="run `trunkml data pull x`")
    assert str(error) == "dataset 'x' sha256 mismatch; run `trunkml data pull x`"
    assert error.to_dict() == {
        "error": "IntegrityError",
        "message": "dataset 'x' sha256 mismatch",
        "hint": "run `trunkml data pull x`",
        "exit_code": 1,
    }


def all_subclasses(root: type[errors.TrunkmlError]) -> list[type[errors.TrunkmlError]]:
    found, frontier = [], [root]
    while frontier:
        for child in frontier.pop().__subclasses__():
            found.append(child)
            frontier.append(child)
    return found


def documented_tree() -> dict[str, tuple[int, int]]:
    """Class name → (exit code, HTTP status), as the tree in errors.py's docstring draws them."""
    assert errors.__doc__ is not None
    rows = re.findall(r"^\s*[│├└─ ]*(\w+)\s+(\d)\s+(\d{3})\s", errors.__doc__, re.MULTILINE)
    return {name: (int(code), int(status)) for name, code, status in rows}


def test_every_error_class_lives_in_errors_py_and_matches_the_documented_tree() -> None:
    for module in pkgutil.walk_packages(trunkml.__path__, "trunkml."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)  # every subclass anywhere in the package is now defined
    classes = all_subclasses(errors.TrunkmlError)
    assert len(classes) >= 20
    assert [c.__qualname__ for c in classes if c.__module__ != "trunkml.errors"] == []
    tree = documented_tree()
    assert set(tree) == {c.__name__ for c in [errors.TrunkmlError, *classes]}
    for error in [errors.TrunkmlError, *classes]:
        assert (error.exit_code, error.http_status) == tree[error.__name__], error.__name__


def test_codes_come_from_the_named_constants() -> None:
    exits = {errors.EXIT_REFUSED, errors.EXIT_USAGE, errors.EXIT_UNAVAILABLE}
    statuses = {value for name, value in vars(errors).items() if name.startswith("HTTP_")}
    for error in [errors.TrunkmlError, *all_subclasses(errors.TrunkmlError)]:
        assert error.exit_code in exits
        assert error.http_status in statuses
    source = inspect.getsource(errors)
    assert not re.search(r"(exit_code|http_status)(: ClassVar\[int\])? = \d", source)  # no bare numbers


def test_a_client_mistake_is_never_a_5xx() -> None:
    client_side = [
        errors.ConfigError, errors.UsageError, errors.NotFoundError, errors.BadRequest,
        errors.UnsupportedMediaType, errors.DataFormatError, errors.Unauthorized, errors.Forbidden,
    ]  # fmt: skip
    assert all(400 <= error.http_status < 500 for error in client_side)
    assert errors.UnavailableError.http_status == 503
