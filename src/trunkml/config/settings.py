"""Settings: the one place that reads the process environment.

Every knob a deployment may turn is a field here, read from ``TRUNKML_*`` (and
``MLFLOW_TRACKING_URI``). Relative paths are resolved against the project root
(the nearest folder with a ``trunkml.yaml``), so commands behave the same from
any sub-folder.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_FILE = "trunkml.yaml"


class Environment(StrEnum):
    """Deployment environment; stricter rules apply in ``test`` and ``prod``."""

    DEV = "dev"
    TEST = "test"
    PROD = "prod"
    SHARED = "shared"
    """A team's shared registry (an MLflow server on PostgreSQL and object storage); rules as in test."""


def find_project_root(start: Path | None = None) -> Path:
    """Return the nearest folder at or above ``start`` holding ``trunkml.yaml``, else ``start``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / PROJECT_FILE).is_file():
            return folder
    return here


class Settings(BaseSettings):
    """Runtime settings, with defaults that work offline on one machine.

    * ``TRUNKML_PROJECT``: project root (default: nearest folder with ``trunkml.yaml``).
    * ``TRUNKML_HOME``: local state: data store, embedded MLflow (default ``<project>/.trunkml``).
    * ``TRUNKML_ENV``: ``dev`` | ``test`` | ``prod`` (default ``dev``).
    * ``MLFLOW_TRACKING_URI``: tracking + registry (default ``sqlite:///<home>/mlflow.db``).
    * ``TRUNKML_DATA_MIRROR``: offline folder searched for dataset files (default: none).
    * ``TRUNKML_API_KEY``: serving/admin key (default: none).
    * ``TRUNKML_HTTP_TIMEOUT_S``: connect/read timeout for HTTP dataset sources (default 60).
    * ``TRUNKML_ACTOR`` (else ``GITHUB_ACTOR``): who is approving/promoting, when ``--by`` is not given.
    * ``TRUNKML_ENDPOINT``: the endpoint spec ``trunkml serve`` uses (default ``endpoints/<model>/endpoint.yaml``).
    * ``TRUNKML_WEBHOOK_SECRET``: HMAC secret of MLflow registry webhooks sent to the server (default: none).
    * ``TRUNKML_SIGNING_KEY`` / ``TRUNKML_VERIFY_KEY``: Ed25519 key files that sign / verify versions (default: none).
    """

    model_config = SettingsConfigDict(env_prefix="TRUNKML_", extra="ignore", frozen=True)

    project: Path = Field(default_factory=find_project_root)
    home: Path | None = None
    env: Environment = Environment.DEV
    mlflow_tracking_uri: str | None = Field(
        default=None, validation_alias=AliasChoices("MLFLOW_TRACKING_URI", "TRUNKML_MLFLOW_TRACKING_URI")
    )
    data_mirror: Path | None = None
    api_key: SecretStr | None = None
    http_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    endpoint: Path | None = None
    webhook_secret: SecretStr | None = None
    step_summary: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("TRUNKML_STEP_SUMMARY", "GITHUB_STEP_SUMMARY"),
        description="A Markdown file pipelines append their reports to (GitHub Actions sets GITHUB_STEP_SUMMARY).",
    )
    actor: str | None = Field(
        default=None, validation_alias=AliasChoices("TRUNKML_ACTOR", "GITHUB_ACTOR", "GITLAB_USER_LOGIN")
    )
    mlflow_tracking_password: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("MLFLOW_TRACKING_PASSWORD"),
        description="MLflow basic-auth password (read by MLflow itself; trunkml only refuses known defaults).",
    )
    signing_key: Path | None = Field(
        default=None, description="PEM Ed25519 private key: CT signs each new version's digest manifest with it."
    )
    verify_key: Path | None = Field(
        default=None, description="PEM Ed25519 public key: when set, only versions signed by its key load anywhere."
    )
    approval_key: Path | None = Field(
        default=None,
        description="SSH private key `trunkml approve` signs with (default: git's user.signingkey). In CI, the "
        "environment's attestor key, which signs the GitHub reviewer's approval.",
    )
    approval_key_data: SecretStr | None = Field(
        default=None,
        description="The SSH private key itself, for CI where a secret is a string (the environment's attestor key); "
        "written to a private temporary file only while signing.",
    )
    github_run_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TRUNKML_GITHUB_RUN_ID", "GITHUB_RUN_ID"),
        pattern=r"^[0-9]+$",
        description="The workflow run whose environment approval `trunkml approve --github-reviewer` reads.",
    )
    backend_store_uri: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("TRUNKML_BACKEND_STORE_URI", "MLFLOW_BACKEND_STORE_URI"),
        description="The SQL database of a tracking server workspace-cd starts (postgresql://...; never in YAML).",
    )
    s3_endpoint_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("MLFLOW_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"),
        description="An S3-compatible endpoint (MinIO, Ceph, a local stand-in) instead of AWS S3.",
    )
    github_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("TRUNKML_GITHUB_TOKEN", "GITHUB_TOKEN"),
        description="GitHub token: `trunkml monitor --emit github` starts model-ct with it (actions: write); "
        "`trunkml approve --github-reviewer` reads the run's approvals (actions: read).",
    )
    github_repository: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TRUNKML_GITHUB_REPOSITORY", "GITHUB_REPOSITORY"),
        pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$",
        description="owner/name of the repository whose model-ct workflow retrains.",
    )
    github_api_url: str = Field(
        default="https://api.github.com",
        validation_alias=AliasChoices("TRUNKML_GITHUB_API_URL", "GITHUB_API_URL"),
        description="GitHub REST API base (GitHub Enterprise: https://HOST/api/v3).",
    )

    @field_validator("data_mirror", "home", "endpoint", "step_summary", "approval_key", "github_run_id", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("data_mirror", "home", "project", "endpoint", "approval_key", mode="after")
    @classmethod
    def _expand_user(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @field_validator("project", mode="after")
    @classmethod
    def _project_is_a_folder(cls, value: Path) -> Path:
        if not value.is_dir():
            raise ValueError(f"{value} is not an existing folder")
        return value

    @property
    def project_root(self) -> Path:
        """Absolute project root."""
        return self.project.resolve()

    @property
    def home_dir(self) -> Path:
        """Absolute ``TRUNKML_HOME``; relative values are taken from the project root."""
        home = self.home if self.home is not None else Path(".trunkml")
        return home if home.is_absolute() else self.project_root / home

    @property
    def tracking_uri(self) -> str:
        """The MLflow tracking URI in force (embedded SQLite unless overridden)."""
        return self.mlflow_tracking_uri or f"sqlite:///{self.home_dir / 'mlflow.db'}"

    @property
    def endpoint_path(self) -> Path | None:
        """Absolute ``TRUNKML_ENDPOINT``, if set; relative values are taken from the project root."""
        if self.endpoint is None:
            return None
        return self.endpoint if self.endpoint.is_absolute() else self.project_root / self.endpoint

    @property
    def datastore_dir(self) -> Path:
        """Root of the content-addressed dataset store."""
        return self.home_dir / "datastore"

    @property
    def mirror_dir(self) -> Path | None:
        """Absolute offline mirror folder, if one is configured."""
        if self.data_mirror is None:
            return None
        mirror = self.data_mirror
        return (mirror if mirror.is_absolute() else self.project_root / mirror).resolve()

    def for_environment(self, env: Environment, tracking_uri: str | None) -> Settings:
        """These settings for another environment, with its registry if the project names one.

        A relative ``sqlite:///path`` is taken under ``TRUNKML_HOME``, so project files stay machine-independent.
        """
        uri = tracking_uri
        if uri and uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
            uri = f"sqlite:///{self.home_dir / uri.removeprefix('sqlite:///')}"
        return self.model_copy(update={"env": env, "mlflow_tracking_uri": uri or self.mlflow_tracking_uri})

    @property
    def datasets_dir(self) -> Path:
        """Folder of dataset pointers, ``<project>/datasets``."""
        return self.project_root / "datasets"


def child_environment(settings: Settings, **extra: str) -> dict[str, str]:
    """This process's environment with ``settings`` written in, for a trunkml child process to read back."""
    values = {
        **os.environ,
        "TRUNKML_PROJECT": str(settings.project_root),
        "TRUNKML_HOME": str(settings.home_dir),
        "TRUNKML_ENV": settings.env.value,
        "MLFLOW_TRACKING_URI": settings.tracking_uri,
        **extra,
    }
    if settings.endpoint is not None:
        values["TRUNKML_ENDPOINT"] = str(settings.endpoint_path)
    return values


def export_for_workers(settings: Settings) -> None:
    """Put ``settings`` into this process's environment, for server worker processes that rebuild them.

    ``trunkml serve --workers N`` starts N processes that each read :class:`Settings` again; this is how
    values given on the command line reach them.
    """
    os.environ.update(child_environment(settings))
