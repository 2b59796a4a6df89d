"""The project file ``trunkml.yaml``: what a team declares once for the repository."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from trunkml.config.names import name_problem, problem
from trunkml.config.settings import PROJECT_FILE, Environment, Settings
from trunkml.config.windows import Window, parse_duration
from trunkml.config.yamlfile import load_model
from trunkml.errors import UsageError


class DataPolicy(BaseModel):
    """Project-wide rules for data use."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_eval_overlap: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Largest allowed share of evaluation rows whose normalised text also occurs in training.",
    )


class GateConfig(BaseModel):
    """Where the champion/challenger gate looks: the frozen eval set and the policy (validated by the gate)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    eval: str | None = Field(default=None, description="Dataset pointer (NAME or NAME@V) of the frozen eval set.")
    policy: dict[str, Any] = Field(default_factory=dict, description="GatePolicy fields; defaults when empty.")
    infra_validation: bool = Field(
        default=True,
        description="Promotion needs a passing `trunkml infra-validate` of the version. Always true in prod.",
    )


class ApprovalRule(BaseModel):
    """Who must approve a promotion in one environment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    required: int = Field(default=1, ge=0, le=10, description="Approvals needed (dev may need 0).")
    approvers: tuple[str, ...] | None = Field(default=None, description="If set, only these people count.")
    allow_author: bool = Field(default=False, description="Count approvals by the commit's author (never in prod).")


class TrackingServerConfig(BaseModel):
    """An MLflow tracking server that workspace-cd starts on this machine when the environment's URI is down.

    Its database comes from ``TRUNKML_BACKEND_STORE_URI`` (a secret); artifacts go to
    ``artifacts_destination``, proxied by the server, so clients need no storage credentials.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    artifacts_destination: str = Field(description="Where the server keeps artifacts: s3://bucket/prefix, gs://...")
    workers: int = Field(default=2, ge=1, le=64, description="Server worker processes.")
    start_timeout_s: float = Field(default=120, gt=0, le=1800, description="How long to wait for /health.")

    @field_validator("artifacts_destination")
    @classmethod
    def _no_credentials(cls, value: str) -> str:
        if urlsplit(value).password:
            raise ValueError("must not contain a password: put credentials in the environment, not in YAML")
        return value


class EnvironmentConfig(BaseModel):
    """One deployment environment's registry (tracking URI); unset means MLFLOW_TRACKING_URI or the default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tracking_uri: str | None = Field(
        default=None, description="MLflow tracking/registry URI; relative sqlite paths are under TRUNKML_HOME."
    )
    server: TrackingServerConfig | None = Field(
        default=None, description="Start this MLflow server (on this machine) when tracking_uri does not answer."
    )

    @field_validator("tracking_uri")
    @classmethod
    def _no_secrets(cls, value: str | None) -> str | None:
        if value and urlsplit(value).password:
            raise ValueError("must not contain a password: put credentials in the environment, not in YAML")
        return value


PipelineName = Literal["workspace-cd", "environment-ci", "environment-cd", "model-ci", "model-ct"]
Event = Literal["push", "pull_request"]


class TriggerRule(BaseModel):
    """When a pipeline runs: on which events, for changes under which paths."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    events: tuple[Event, ...] = Field(min_length=1, description="Git events that can trigger it.")
    paths: tuple[str, ...] = Field(
        default=(), description="Globs ('**' crosses folders); a plain path covers a folder."
    )
    job_paths: bool = Field(
        default=False,
        description="Also every job's own paths: its folder, its code package and the dataset pointers it reads.",
    )


DEFAULT_TRIGGERS: dict[PipelineName, TriggerRule] = {
    "workspace-cd": TriggerRule(events=("push",), paths=("trunkml.yaml", "datasets/**")),
    "environment-ci": TriggerRule(events=("pull_request",), paths=("environments/**",)),
    "environment-cd": TriggerRule(events=("push",), paths=("environments/**",)),
    "model-ci": TriggerRule(events=("pull_request",), paths=("jobs/**", "datasets/**"), job_paths=True),
    "model-ct": TriggerRule(events=("push",), job_paths=True),
}


class ModelCIConfig(BaseModel):
    """model-ci: the project's own checks and the size of the smoke training run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hook: tuple[str, ...] | None = Field(default=None, description="Command (argv) run first, e.g. [make, lint].")
    smoke_rows: int = Field(default=400, ge=20, le=1_000_000, description="Rows of train and eval in the smoke run.")


class ModelCDConfig(BaseModel):
    """model-cd: the environments a new version is promoted through, in order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    environments: tuple[Literal["dev", "test", "prod", "shared"], ...] = Field(
        default=(), description="In order, e.g. [dev, prod]; empty: only the current TRUNKML_ENV."
    )


class PipelinesConfig(BaseModel):
    """Pipeline triggers and settings; triggers not given keep their defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    triggers: dict[PipelineName, TriggerRule] = Field(default_factory=lambda: dict(DEFAULT_TRIGGERS))
    model_ci: ModelCIConfig = ModelCIConfig()
    model_cd: ModelCDConfig = ModelCDConfig()

    @field_validator("triggers", mode="after")
    @classmethod
    def _with_defaults(cls, value: dict[PipelineName, TriggerRule]) -> dict[PipelineName, TriggerRule]:
        return {**DEFAULT_TRIGGERS, **value}


class FeatureThresholds(BaseModel):
    """One feature's own drift thresholds (a null switches that statistic off for it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    psi: float | None = Field(default=None, gt=0)
    ks: float | None = Field(default=None, gt=0, le=1)
    js: float | None = Field(default=None, gt=0, le=1)
    unseen: float | None = Field(default=None, gt=0, le=1)


class DriftThresholds(BaseModel):
    """The line each drift statistic must cross to fire (null switches a statistic off).

    Defaults were measured on the reference project: its held-out tweets stay well below them,
    and Instagram comments from another corpus cross most of them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    psi_text_length: float | None = Field(default=0.2, gt=0, description="PSI of text length.")
    ks_text_length: float | None = Field(default=0.1, gt=0, le=1, description="KS statistic of text length.")
    psi_score: float | None = Field(default=0.2, gt=0, description="PSI of the champion's score.")
    ks_score: float | None = Field(default=0.1, gt=0, le=1, description="KS statistic of the champion's score.")
    js_tokens: float | None = Field(
        default=0.02, gt=0, le=1, description="JS divergence of the 100 most frequent training tokens + the rest."
    )
    js_char_ngrams: float | None = Field(default=0.005, gt=0, le=1, description="JS divergence of 3-gram sketches.")
    oov_rate_shift: float | None = Field(default=0.02, gt=0, le=1, description="Change of the out-of-vocabulary rate.")
    positive_rate_shift: float | None = Field(
        default=0.10, gt=0, le=1, description="Change of the predicted-positive rate."
    )
    js_predicted_classes: float | None = Field(
        default=0.02, gt=0, le=1, description="JS divergence of a multi-class model's predicted-class distribution."
    )
    psi_numeric: float | None = Field(default=0.2, gt=0, description="PSI of each numeric feature (and text length).")
    ks_numeric: float | None = Field(default=0.1, gt=0, le=1, description="KS statistic of each numeric feature.")
    js_categorical: float | None = Field(
        default=0.05, gt=0, le=1, description="JS divergence of each categorical or boolean feature's values."
    )
    unseen_rate: float | None = Field(
        default=0.02, gt=0, le=1, description="Share of a categorical feature's values never seen in training."
    )
    features: dict[str, FeatureThresholds] = Field(
        default_factory=dict, description="Per-feature overrides, e.g. {age: {psi: 0.3, ks: null}}."
    )

    def for_feature(self, name: str) -> dict[str, float]:
        """The enabled statistics of one feature (psi, ks, js, unseen) and their thresholds."""
        defaults = {"psi": self.psi_numeric, "ks": self.ks_numeric, "js": self.js_categorical}
        defaults["unseen"] = self.unseen_rate
        override = self.features.get(name)
        given = override.model_dump(exclude_unset=True) if override else {}
        return {k: v for k, v in {**defaults, **given}.items() if v is not None}


class RetrainTriggers(BaseModel):
    """When `trunkml monitor` exits 1 to ask for retraining."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    drift: bool = Field(default=True, description="Any drift statistic fires.")
    min_recall: float | None = Field(
        default=None, gt=0, le=1, description="Online recall of the champion falls below this floor."
    )
    min_labelled_positives: int = Field(
        default=30, ge=1, description="Labelled positives needed before the recall floor is judged."
    )
    min_accuracy: float | None = Field(
        default=None, gt=0, le=1, description="Multi-class: online accuracy of the champion falls below this floor."
    )
    max_mae: float | None = Field(
        default=None, gt=0, description="Regression: online mean absolute error of the champion rises above this."
    )
    min_labelled: int = Field(
        default=30, ge=1, description="Labelled predictions needed before min_accuracy or max_mae is judged."
    )
    max_champion_age: str | None = Field(default=None, description="The champion was trained longer ago, e.g. 30d.")
    repeat_after: str = Field(
        default="24h", description="`--emit github` sends the same triggers again only after this long."
    )

    @field_validator("max_champion_age", "repeat_after")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @property
    def repeat_seconds(self) -> float:
        """``repeat_after`` in seconds."""
        return parse_duration(self.repeat_after)

    @property
    def max_age_seconds(self) -> float | None:
        """``max_champion_age`` in seconds."""
        return None if self.max_champion_age is None else parse_duration(self.max_champion_age)


class MonitoringConfig(BaseModel):
    """`trunkml monitor`: the default window, drift thresholds and retraining triggers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window: str = Field(default="1000", description="Last N requests (1000) or a duration (1h, 7d).")
    online_window: str = Field(
        default="7d", description="How far back online performance looks (labels arrive late), e.g. 7d."
    )
    min_rows: int = Field(default=200, ge=1, description="Fewer texts in a window: drift is not judged.")
    drift: DriftThresholds = DriftThresholds()
    triggers: RetrainTriggers = RetrainTriggers()
    shadow_loss_bound: float | None = Field(
        default=None,
        gt=0,
        description="Regression shadow test: each row's loss difference is clipped to this bound (default: the range "
        "of the champion's eval predictions).",
    )

    @field_validator("window", "online_window", mode="before")
    @classmethod
    def _number_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        Window.parse(value)
        return value

    @field_validator("online_window")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value


class ModelsPolicy(BaseModel):
    """What model files trunkml registers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    allow_pickle_in_dev: bool = Field(
        default=False,
        description="Register pickle/cloudpickle models in dev only (never in test or prod; no loader reads them).",
    )


class SignersConfig(BaseModel):
    """Who may sign approvals: the allowed-signers file (git's format) and the keys that attest reviews."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str = Field(
        default="allowed_signers",
        description="The allowed-signers file, relative to the project root (git's gpg.ssh.allowedSignersFile format).",
    )
    attestors: tuple[str, ...] = Field(
        default=(),
        description="Identities whose key may attest a CI platform's environment review (GitHub's reviewer) "
        "on the reviewer's behalf; that key lives only in the protected environment.",
    )

    require_known_authors: bool = Field(
        default=False,
        description="Where approvals are required, refuse a promotion while any author or committer of the "
        "change is not a person of the allowed-signers file (git identities are self-declared; pair this "
        "with signed commits so that nobody commits under a made-up name and then approves).",
    )

    @field_validator("file")
    @classmethod
    def _relative(cls, value: str) -> str:
        if Path(value).is_absolute() or ".." in Path(value).parts:
            raise ValueError("must be a path inside the project (it is reviewed like code)")
        return value


def _default_rules() -> dict[str, ApprovalRule]:
    return {"dev": ApprovalRule(required=0), "test": ApprovalRule(required=1), "prod": ApprovalRule(required=1)}


class ProjectConfig(BaseModel):
    """The parsed ``trunkml.yaml``; unknown fields are refused so typos surface at once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    description: str = ""
    model: str | None = Field(default=None, description="Default registered model for model commands.")
    data: DataPolicy = DataPolicy()
    models: ModelsPolicy = ModelsPolicy()
    gate: GateConfig = GateConfig()
    approvals: dict[str, ApprovalRule] = Field(default_factory=_default_rules)
    signers: SignersConfig = SignersConfig()
    environments: dict[str, EnvironmentConfig] = Field(default_factory=dict)
    pipelines: PipelinesConfig = PipelinesConfig()
    monitoring: MonitoringConfig = MonitoringConfig()

    @field_validator("model")
    @classmethod
    def _safe_model(cls, value: str | None) -> str | None:
        why = None if value is None else problem(value)
        if why is not None:
            raise ValueError(f"model {value!r} is not allowed: {why}")
        return value

    @model_validator(mode="after")
    def _prod_needs_a_second_person(self) -> Self:
        prod = self.approvals.get("prod")
        if prod is not None and (prod.required < 1 or prod.allow_author):
            raise ValueError("approvals.prod must require at least 1 approval by someone other than the author")
        return self

    def approval_rule(self, env: str) -> ApprovalRule:
        """The rule for ``env`` (environments not listed need one approval)."""
        return self.approvals.get(env, ApprovalRule())

    def signers_path(self, root: Path) -> Path:
        """The allowed-signers file of the project at ``root``."""
        return root / self.signers.file


def load_project(root: Path) -> ProjectConfig:
    """Read ``<root>/trunkml.yaml``; a project without one gets the defaults and its folder name."""
    path = root / PROJECT_FILE
    if not path.is_file():
        return ProjectConfig(name=root.name or "project")
    return load_model(path, ProjectConfig)


def settings_for(settings: Settings, env: str) -> Settings:
    """Settings of environment ``env``: its registry from trunkml.yaml, or the current one if ``env`` is current.

    Naming another environment that has no registry of its own is refused: its ``@champion``
    would silently be the current environment's.
    """
    try:
        chosen = Environment(env)
    except ValueError as exc:
        raise UsageError(f"unknown environment '{env}'", hint="use dev, test, prod or shared") from exc
    config = load_project(settings.project_root).environments.get(env)
    if config is not None and config.tracking_uri:
        return settings.for_environment(chosen, config.tracking_uri)
    if chosen is settings.env:
        return settings
    raise UsageError(
        f"environment '{env}' has no registry of its own, so its @champion would be '{settings.env.value}''s",
        hint=f"set environments.{env}.tracking_uri in trunkml.yaml, or run with TRUNKML_ENV={env} and its "
        "MLFLOW_TRACKING_URI",
    )


def resolve_model(settings: Settings, model: str | None) -> str:
    """The registered model a command acts on: ``model`` if given, else ``model`` in trunkml.yaml; name-checked."""
    chosen = model or load_project(settings.project_root).model
    if not chosen:
        raise UsageError("which model?", hint="pass --model or set 'model' in trunkml.yaml")
    why = name_problem(chosen)
    if why is not None:
        raise UsageError(f"bad model name {chosen!r}: {why}")
    return chosen
