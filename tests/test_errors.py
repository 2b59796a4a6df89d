"""The one error hierarchy: exit codes and HTTP statuses a user and a script can rely on."""

from __future__ import annotations

import pytest

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
