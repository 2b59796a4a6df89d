"""Connecting to the MLflow tracking store and registry behind ``MLFLOW_TRACKING_URI``.

Everything goes through the URI in :class:`~trunkml.config.Settings`: embedded
SQLite by default, an MLflow server (HTTP) or any other MLflow backend unchanged.
An unreachable store fails fast with exit 3 and the URI in the message, instead
of MLflow's long retry loop.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import mlflow
from mlflow import MlflowClient
from mlflow.environment_variables import MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR, MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT
from mlflow.exceptions import MlflowException

from trunkml.config import Settings
from trunkml.errors import ConfigError, UnavailableError

PREFLIGHT_TIMEOUT_S = 5.0
EXPERIMENT_PREFIX = "trunkml/"


# MLflow's basic-auth app creates its admin user with this password; a server still using it is open to anyone.
MLFLOW_DEFAULT_ADMIN_PASSWORD = "password1234"  # noqa: S105 - the known default we refuse  # pragma: allowlist secret


def refuse_default_password(settings: Settings) -> None:
    password = settings.mlflow_tracking_password
    if password is not None and password.get_secret_value() == MLFLOW_DEFAULT_ADMIN_PASSWORD:
        raise ConfigError(
            "MLFLOW_TRACKING_PASSWORD is MLflow's default admin password: the registry behind it is open to anyone",
            hint="change the admin password on the tracking server (mlflow's auth API) and use the new one",
        )


def redact(uri: str) -> str:
    """``uri`` without a password, for messages (``postgresql://user:$PASSWORD@host`` → ``postgresql://user:***@host``)."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _scrub(text: str, uri: str) -> str:
    password = urlsplit(uri).password
    return text.replace(password, "***") if password else text


MLFLOW_URI_VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")


def _point_mlflow_at(uri: str) -> None:
    """Set MLflow's module-level URIs without leaking them into this process's environment.

    ``mlflow.set_tracking_uri`` also writes ``MLFLOW_TRACKING_URI`` into ``os.environ``; left there,
    every later ``Settings()`` in the process would silently use whichever registry was opened last.
    """
    saved = {name: os.environ.get(name) for name in MLFLOW_URI_VARIABLES}
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _quiet_mlflow() -> None:
    """MLflow logs table creation and registration chatter at INFO; trunkml prints its own summary."""
    for name in ("mlflow", "alembic", "mlflow.store.db.utils", "mlflow.tracking.fluent"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", module=r"mlflow(\..*)?")
    # Its per-file download bars interleave with trunkml's own Rich progress and step output, and with a
    # tracking server it writes "View run ..." links to stdout, which would break `--json` documents.
    MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR.set("false")
    MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT.set("true")


def _preflight_http(uri: str) -> None:
    try:
        response = httpx.get(f"{uri.rstrip('/')}/health", timeout=PREFLIGHT_TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise UnavailableError(
            f"MLflow tracking server {redact(uri)} is unreachable: {_scrub(str(exc), uri)}",
            hint="start it, or fix MLFLOW_TRACKING_URI",
        ) from exc
    if response.status_code >= 500:
        raise UnavailableError(f"MLflow tracking server {redact(uri)} answered {response.status_code} on /health")


def _preflight_sqlite(uri: str) -> None:
    path = Path(urlsplit(uri).path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UnavailableError(f"cannot create the tracking store {redact(uri)}: {exc.strerror}") from exc


class Registry:
    """The MLflow client for one tracking URI, plus the experiment a project logs to."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.uri = settings.tracking_uri
        _quiet_mlflow()
        scheme = urlsplit(self.uri).scheme
        if scheme in {"http", "https"}:
            refuse_default_password(settings)
            _preflight_http(self.uri)
        elif scheme == "sqlite":
            _preflight_sqlite(self.uri)
        _point_mlflow_at(self.uri)
        self.client = self._client()

    def _client(self) -> MlflowClient:
        try:
            client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
            client.search_experiments(max_results=1)
        except Exception as exc:  # any backend failure here means the store is unavailable
            raise UnavailableError(
                f"tracking store {redact(self.uri)} is unavailable: {_scrub(str(exc).splitlines()[0][:300], self.uri)}",
                hint="check MLFLOW_TRACKING_URI and that the store is reachable",
            ) from exc
        return client

    def answers(self) -> bool:
        """Whether the tracking store still answers (a server's /health; local stores always do)."""
        if urlsplit(self.uri).scheme not in {"http", "https"}:
            return True
        try:
            return httpx.get(f"{self.uri.rstrip('/')}/health", timeout=PREFLIGHT_TIMEOUT_S).status_code < 500
        except httpx.HTTPError:
            return False

    def activate(self) -> None:
        """Make this registry the one MLflow's module-level API (models:/ URIs, loading) talks to.

        Needed when one process talks to two registries (promotion across environments).
        """
        _point_mlflow_at(self.uri)

    @property
    def artifact_root(self) -> str | None:
        """Where new experiments keep artifacts: ``artifacts/`` beside a SQLite file (``<home>/artifacts`` for the
        default store), ``<home>/artifacts`` for other local stores, the server's default otherwise."""
        parts = urlsplit(self.uri)
        database = parts.path[1:]  # sqlite:////abs/file.db -> /abs/file.db; sqlite:///rel.db -> rel.db
        if parts.scheme == "sqlite" and database and database != ":memory:":
            return (Path(database).resolve().parent / "artifacts").as_uri()
        if parts.scheme in {"", "file", "sqlite"}:
            return (self.settings.home_dir / "artifacts").as_uri()
        return None

    def experiment_id(self, model_name: str) -> str:
        """Return (creating if needed) the experiment that holds the runs of ``model_name``."""
        return self.ensure_experiment(f"{EXPERIMENT_PREFIX}{model_name}")

    def ensure_experiment(self, name: str) -> str:
        """The id of experiment ``name``, created (with this registry's artifact root) if missing."""
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return str(found.experiment_id)
        try:
            return str(self.client.create_experiment(name, artifact_location=self.artifact_root))
        except MlflowException:  # created concurrently by another process
            again = self.client.get_experiment_by_name(name)
            if again is None:
                raise
            return str(again.experiment_id)
