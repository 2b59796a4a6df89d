"""The one error hierarchy of trunkml.

Every failure a user can cause or meet is a :class:`TrunkmlError` subclass. Each
subclass carries the process exit code the CLI uses and the HTTP status the
server uses, so both mappings live here and nowhere else:

* exit 1: a domain refusal (verification failed, gate rejected, approval missing)
* exit 2: a usage or configuration error
* exit 3: a dependency that is unavailable (store, server)
"""

from __future__ import annotations

from typing import ClassVar

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3


class TrunkmlError(Exception):
    """Root of every trunkml error; the message says what happened and what to do next."""

    exit_code: ClassVar[int] = EXIT_USAGE
    http_status: ClassVar[int] = 400

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}; {self.hint}" if self.hint else self.message

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready description, used by ``--json`` output and HTTP bodies."""
        return {
            "error": type(self).__name__,
            "message": self.message,
            "hint": self.hint,
            "exit_code": self.exit_code,
        }


class ConfigError(TrunkmlError):
    """A project file, pointer or setting is malformed or inconsistent."""

    exit_code = EXIT_USAGE
    http_status = 422


class UsageError(TrunkmlError):
    """The command was called with arguments that cannot work."""

    exit_code = EXIT_USAGE
    http_status = 400


class NotFoundError(TrunkmlError):
    """A named thing (dataset, version, model) does not exist."""

    exit_code = EXIT_USAGE
    http_status = 404


class UnsafePathError(ConfigError):
    """A name or URI would read or write outside the place it belongs to."""


class DataFormatError(TrunkmlError):
    """Data content cannot be parsed as the declared format (empty, not UTF-8, bad columns)."""

    exit_code = EXIT_REFUSED
    http_status = 422


class RefusedError(TrunkmlError):
    """A domain refusal: the tool worked, and the answer is no."""

    exit_code = EXIT_REFUSED
    http_status = 409


class IntegrityError(RefusedError):
    """Content does not match its recorded sha256, or is missing: fail closed."""


class ValidationFailedError(RefusedError):
    """Data validation found problems that block its use."""

    http_status = 422


class LeakageError(ValidationFailedError):
    """Evaluation data overlaps training data beyond the allowance."""


class TrainingFailedError(TrunkmlError):
    """The project's training code raised; the run is marked FAILED and nothing is registered."""

    exit_code = EXIT_REFUSED
    http_status = 500


class UnavailableError(TrunkmlError):
    """A dependency (store, remote, server) could not be reached."""

    exit_code = EXIT_UNAVAILABLE
    http_status = 503
