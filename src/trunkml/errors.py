"""The one error hierarchy of trunkml: every class, every exit code and every HTTP status is here.

Every failure a user can cause or meet is a :class:`TrunkmlError` subclass. Each
subclass carries the process exit code the CLI uses and the HTTP status the
server uses, as the named constants below, so both mappings live here and nowhere else:

* exit 1: a domain refusal (verification failed, gate rejected, approval missing)
* exit 2: a usage or configuration error
* exit 3: a dependency that is unavailable (store, server)

The tree (exit code, HTTP status)::

    TrunkmlError                     2  400  root: the message says what happened and what to do next
    ├── ConfigError                  2  422  a project file, pointer or setting is malformed
    │   └── UnsafePathError          2  422  a name or URI would leave the place it belongs to
    ├── UsageError                   2  400  arguments that cannot work
    ├── NotFoundError                2  404  a named dataset, version or model does not exist
    │   └── NoProfile                2  404  a version registered without a reference profile
    ├── BadRequest                   2  422  an HTTP request breaks the API contract
    │   └── UnsupportedMediaType     2  415  the body is not declared as JSON
    ├── DataFormatError              1  422  data cannot be parsed as its declared format
    ├── RefusedError                 1  409  a domain refusal: the tool worked, and the answer is no
    │   ├── IntegrityError           1  409  content does not match its recorded sha256: fail closed
    │   ├── ValidationFailedError    1  422  data validation found blocking problems
    │   │   └── LeakageError         1  422  evaluation rows overlap training beyond the allowance
    │   ├── WaitingForApproval       1  409  a pipeline waits for a person's approval
    │   ├── AlreadyChampion          1  409  the version already holds @champion there
    │   ├── CandidateRefused         1  409  a version the server should follow cannot load safely
    │   └── Forbidden                1  403  the route is switched off on this server
    ├── Unauthorized                 1  401  the request did not prove it may call the route
    ├── TrainingFailedError          1  500  the project's training code raised
    ├── ModelFailed                  1  500  the serving model raised while answering
    ├── ExplanationError             1  500  the model's explanation failed or broke its shape
    ├── RequestTimedOut              3  504  the answer took longer than the endpoint allows
    └── UnavailableError             3  503  a store, remote or server could not be reached

A 5xx is only ever the server's own failure (the model, a timeout, a dependency); anything
a client sends that is wrong is a 4xx.
"""

from __future__ import annotations

from typing import Any, ClassVar

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3

HTTP_BAD_REQUEST = 400
HTTP_UNAUTHORIZED = 401
HTTP_FORBIDDEN = 403
HTTP_NOT_FOUND = 404
HTTP_CONFLICT = 409
HTTP_UNSUPPORTED_MEDIA_TYPE = 415
HTTP_UNPROCESSABLE = 422
HTTP_INTERNAL = 500
HTTP_UNAVAILABLE = 503
HTTP_GATEWAY_TIMEOUT = 504


class TrunkmlError(Exception):
    """Root of every trunkml error; the message says what happened and what to do next."""

    exit_code: ClassVar[int] = EXIT_USAGE
    http_status: ClassVar[int] = HTTP_BAD_REQUEST

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


# -- usage and configuration (exit 2) ------------------------------------------------------------
class ConfigError(TrunkmlError):
    """A project file, pointer or setting is malformed or inconsistent."""

    exit_code = EXIT_USAGE
    http_status = HTTP_UNPROCESSABLE


class UnsafePathError(ConfigError):
    """A name or URI would read or write outside the place it belongs to."""


class UsageError(TrunkmlError):
    """The command was called with arguments that cannot work."""

    exit_code = EXIT_USAGE
    http_status = HTTP_BAD_REQUEST


class NotFoundError(TrunkmlError):
    """A named thing (dataset, version, model) does not exist."""

    exit_code = EXIT_USAGE
    http_status = HTTP_NOT_FOUND


class NoProfile(NotFoundError):
    """The version exists but was registered without a reference profile."""


class BadRequest(TrunkmlError):
    """The request body or headers break the API contract."""

    exit_code = EXIT_USAGE
    http_status = HTTP_UNPROCESSABLE

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.details = details


class UnsupportedMediaType(BadRequest):
    """The body is not declared as JSON."""

    http_status = HTTP_UNSUPPORTED_MEDIA_TYPE


# -- refusals (exit 1) -----------------------------------------------------------------------------
class DataFormatError(TrunkmlError):
    """Data content cannot be parsed as the declared format (empty, not UTF-8, bad columns)."""

    exit_code = EXIT_REFUSED
    http_status = HTTP_UNPROCESSABLE


class RefusedError(TrunkmlError):
    """A domain refusal: the tool worked, and the answer is no."""

    exit_code = EXIT_REFUSED
    http_status = HTTP_CONFLICT


class IntegrityError(RefusedError):
    """Content does not match its recorded sha256, or is missing: fail closed."""


class ValidationFailedError(RefusedError):
    """Data validation found problems that block its use."""

    http_status = HTTP_UNPROCESSABLE


class LeakageError(ValidationFailedError):
    """Evaluation data overlaps training data beyond the allowance."""


class WaitingForApproval(RefusedError):
    """The version passed everything up to an environment whose approvals are not there yet."""


class AlreadyChampion(RefusedError):
    """The version (or its copy) already holds ``@champion`` in the target environment."""


class CandidateRefused(RefusedError):
    """A version the server was asked to follow could not be loaded safely; the old model keeps serving."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message, hint="the previous model keeps serving; fix or replace the version")
        self.reason = reason


class Forbidden(RefusedError):
    """The route is switched off on this server."""

    http_status = HTTP_FORBIDDEN


class Unauthorized(TrunkmlError):
    """The request did not prove it may call this route."""

    exit_code = EXIT_REFUSED
    http_status = HTTP_UNAUTHORIZED


# -- failures of code trunkml runs (exit 1, HTTP 500) ------------------------------------------------
class TrainingFailedError(TrunkmlError):
    """The project's training code raised; the run is marked FAILED and nothing is registered."""

    exit_code = EXIT_REFUSED
    http_status = HTTP_INTERNAL


class ModelFailed(TrunkmlError):
    """The serving model raised while answering."""

    exit_code = EXIT_REFUSED
    http_status = HTTP_INTERNAL


class ExplanationError(TrunkmlError):
    """The model's own explanation could not be computed or does not have the promised shape."""

    exit_code = EXIT_REFUSED
    http_status = HTTP_INTERNAL


# -- unavailable dependencies (exit 3) --------------------------------------------------------------
class RequestTimedOut(TrunkmlError):
    """The answer took longer than the endpoint's request timeout."""

    exit_code = EXIT_UNAVAILABLE
    http_status = HTTP_GATEWAY_TIMEOUT


class UnavailableError(TrunkmlError):
    """A dependency (store, remote, server) could not be reached."""

    exit_code = EXIT_UNAVAILABLE
    http_status = HTTP_UNAVAILABLE
