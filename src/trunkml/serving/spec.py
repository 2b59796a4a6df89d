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
from trunkml.config.settings import PROJECT_FILE
from trunkml.config.yamlfile import load_model
from trunkml.errors import ConfigError

ALIAS_REF = re.compile(r"^@[A-Za-z][\w-]*$")
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


class Traffic(_Frozen):
    """Who answers: the champion, a canary share, and an optional shadow."""

    champion: str = "@champion"
    canary: Canary = Canary()
    shadow: Shadow = Shadow()

    _champion = field_validator("champion")(_alias)


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
    request_timeout_s: float = Field(default=10.0, gt=0, le=600)


class Auth(_Frozen):
    """Admin routes always need ``TRUNKML_API_KEY``; ``/predict`` and ``/feedback`` only if asked."""

    protect_predict: bool = False


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

    @model_validator(mode="after")
    def _distinct_refs(self) -> EndpointSpec:
        others = {self.traffic.canary.ref, self.traffic.shadow.ref}
        if self.traffic.champion in others and (self.traffic.canary.percent > 0 or self.traffic.shadow.enabled):
            raise ValueError("canary and shadow must follow another alias than the champion")
        return self

    def log_path(self, settings: Settings) -> Path:
        """The prediction log file; relative paths are taken under ``TRUNKML_HOME``."""
        return self.log.path if self.log.path.is_absolute() else settings.home_dir / self.log.path


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
