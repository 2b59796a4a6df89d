"""The endpoint spec: which model a server follows, how traffic is split, and its limits.

``endpoints/<model>/endpoint.yaml`` is what a user declares; every field has a
default that is safe to serve with, so the smallest spec is ``model: <name>``.
Secrets (the API key, the webhook secret) never go here: they come from the
environment through :class:`~trunkml.config.Settings`.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from trunkml.config import Settings, load_project
from trunkml.config.names import check_path_text, inside, problem
from trunkml.config.settings import PROJECT_FILE
from trunkml.config.yamlfile import load_model
from trunkml.errors import ConfigError, UsageError

ALIAS_REF = re.compile(r"^@[A-Za-z][\w-]*$")
PINNED_REF = re.compile(r"^[1-9][0-9]{0,8}$")
MIB = 1024 * 1024


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _alias(value: str) -> str:
    if not ALIAS_REF.match(value):
        raise ValueError(f"'{value}' is not an alias ref; a server follows an alias such as @champion")
    return value


class Canary(_Frozen):
    """A share of live traffic answered by another alias, sticky per routing key."""

    ref: str = "@challenger"
    percent: float = Field(default=0.0, ge=0.0, le=100.0)

    _ref = field_validator("ref")(_alias)


class Shadow(_Frozen):
    """Another alias that also predicts every champion-routed request; its answers are only logged."""

    ref: str = "@challenger"
    enabled: bool = False
    timeout_s: float = Field(default=2.0, gt=0, le=60)
    max_pending: int = Field(default=1024, ge=1, le=1_000_000)

    _ref = field_validator("ref")(_alias)


def _alias_or_pinned(value: str) -> str:
    if PINNED_REF.match(value):
        return value
    return _alias(value)


class Traffic(_Frozen):
    """Who answers: the champion, a canary share, and an optional shadow.

    ``champion`` is normally an alias; a version number (``"7"``) pins that version and follows nothing,
    which is how ``trunkml infra-validate`` serves a candidate alone.
    """

    champion: str = "@champion"
    canary: Canary = Canary()
    shadow: Shadow = Shadow()

    _champion = field_validator("champion")(_alias_or_pinned)


class Follow(_Frozen):
    """How the server notices that an alias moved (webhooks and ``/admin/reload`` come on top)."""

    poll_interval_s: float = Field(default=5.0, ge=0.05, le=3600)


class Batching(_Frozen):
    """Micro-batching: concurrent requests are answered by one model call.

    With ``max_wait_ms: 0`` a lone request is answered at once, and batches form from what arrives while the
    model is busy; a small wait trades single-request latency for larger batches.
    """

    max_batch_size: int = Field(default=64, ge=1, le=4096)
    max_wait_ms: float = Field(default=0.0, ge=0, le=1000)


class Limits(_Frozen):
    """What one request may ask for, and how long it may take."""

    max_body_bytes: int = Field(default=MIB, ge=64, le=64 * MIB)
    max_text_chars: int = Field(default=5000, ge=1, le=1_000_000)
    max_batch_texts: int = Field(default=256, ge=1, le=100_000)
    max_explain_texts: int = Field(default=8, ge=1, le=1000, description="Texts per request with ?explain=true.")
    request_timeout_s: float = Field(default=10.0, gt=0, le=600)


class Auth(_Frozen):
    """Admin routes always need ``TRUNKML_API_KEY``; ``/predict`` and ``/feedback`` only if asked."""

    protect_predict: bool = False


class InfraBudget(_Frozen):
    """What ``trunkml infra-validate`` holds a candidate to, in a sandboxed copy of this server."""

    ready_timeout_s: float = Field(default=180.0, gt=0, le=3600, description="Load and answer /readyz within this.")
    p99_latency_ms: float = Field(default=1000.0, gt=0, le=600_000, description="p99 of the single-text requests.")
    max_memory_mib: float = Field(
        default=2048.0, gt=0, le=1_048_576, description="Peak resident memory of the server and its model processes."
    )
    single_requests: int = Field(default=60, ge=1, le=10_000, description="How many single-text requests to time.")


LOG_SUFFIXES = (".db", ".sqlite", ".sqlite3")


class PredictionLogSpec(_Frozen):
    """Where served predictions are recorded (SQLite under ``TRUNKML_HOME`` by default)."""

    path: Path = Path("predictions.db")
    store_text: bool = False
    features: bool = Field(
        default=True, description="Store each text's hashed tokens and 3-gram buckets, for `trunkml monitor`."
    )
    flush_interval_ms: float = Field(default=200, ge=1, le=60_000)
    max_pending: int = Field(default=200_000, ge=100, le=10_000_000)


class EndpointSpec(_Frozen):
    """One serving endpoint: the model it follows, traffic, batching, limits, auth and the prediction log."""

    model: str = Field(min_length=1, max_length=128)
    traffic: Traffic = Traffic()
    follow: Follow = Follow()
    batching: Batching = Batching()
    limits: Limits = Limits()
    auth: Auth = Auth()
    log: PredictionLogSpec = PredictionLogSpec()
    infra_validation: InfraBudget = InfraBudget()

    @model_validator(mode="after")
    def _distinct_refs(self) -> EndpointSpec:
        others = {self.traffic.canary.ref, self.traffic.shadow.ref}
        if self.traffic.champion in others and (self.traffic.canary.percent > 0 or self.traffic.shadow.enabled):
            raise ValueError("canary and shadow must follow another alias than the champion")
        return self

    @field_validator("model")
    @classmethod
    def _safe_model(cls, value: str) -> str:
        why = problem(value)
        if why is not None:
            raise ValueError(f"model {value!r} is not allowed: {why}")
        return value

    def log_path(self, settings: Settings) -> Path:
        """The prediction log file: a path under ``TRUNKML_HOME`` (an absolute one must lie there too)."""
        home, path = settings.home_dir, self.log.path
        if path.is_absolute():
            check_path_text(str(path), "log.path")
            # Elsewhere (another project's log, a shared volume) it must name an SQLite file, so that a spec
            # from a pull request cannot point the server at an arbitrary file.
            if not path.resolve().is_relative_to(home.resolve()) and path.suffix not in LOG_SUFFIXES:
                raise UsageError(
                    f"log.path {str(path)!r} is not allowed: outside TRUNKML_HOME ({home}) it must name an "
                    f"SQLite file ({', '.join(LOG_SUFFIXES)})"
                )
            return path
        return inside(home, str(path), "log.path")


def default_endpoint_path(settings: Settings) -> Path:
    """``endpoints/<model>/endpoint.yaml`` for the project's model."""
    project = load_project(settings.project_root)
    if not project.model:
        raise ConfigError(
            f"{settings.project_root / PROJECT_FILE}: no 'model' to serve",
            hint="name the model in trunkml.yaml or pass --endpoint",
        )
    return settings.project_root / "endpoints" / project.model / "endpoint.yaml"


def load_endpoint(settings: Settings, path: Path | None = None) -> EndpointSpec:
    """Read the endpoint spec at ``path`` (else ``TRUNKML_ENDPOINT``, else the project's default)."""
    target = path or settings.endpoint_path or default_endpoint_path(settings)
    if not target.is_file():
        raise ConfigError(
            f"{target}: endpoint spec not found",
            hint="create it (the smallest one is `model: <name>`) or pass --endpoint",
        )
    return load_model(target, EndpointSpec)
