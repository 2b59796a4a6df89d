"""`trunkml train` and `trunkml ct`: one MLflow run that trains, evaluates and registers a version.

The model is evaluated through the artifact as stored: trunkml downloads the
logged pyfunc, hashes every file, loads the model from those same files and
predicts the evaluation set. The metrics therefore describe exactly the bytes
whose digests are recorded on the version.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mlflow
import mlflow.sklearn
import pandas as pd
from mlflow.data.pandas_dataset import from_pandas
from pydantic import BaseModel, ConfigDict

from trunkml.config import Environment, Settings
from trunkml.config.classes import class_names_tag
from trunkml.datasets import DataService
from trunkml.errors import RefusedError, TrainingFailedError, TrunkmlError, UnavailableError, UsageError
from trunkml.registry import CHALLENGER, DatasetUse, Registry, find_by_ct_key, register
from trunkml.registry import lineage as tags
from trunkml.registry.aliases import current, move_alias
from trunkml.registry.artifacts import model_digest
from trunkml.registry.connection import redact
from trunkml.registry.predictions import PredictionCache
from trunkml.registry.signing import load_private, manifest, sign
from trunkml.registry.versions import delete_version
from trunkml.training.contract import ModelPackage, TrainingJob
from trunkml.training.entry import load_entrypoint
from trunkml.training.inputs import PreparedData, prepare_data
from trunkml.training.jobspec import ResolvedJob, load_job
from trunkml.training.logged_model import evaluate_stored, log_model, log_profile
from trunkml.training.plots import confusion_figure, pr_figure, regression_figures
from trunkml.training.provenance import GitState, committed, environment_hash, environment_lock, git_state

Report = Callable[[str], None]
Steps = Callable[[str, int, int], None]
OWN_PARAMS = "trunkml."  # params trunkml logs itself; user params may not use this prefix
PARAM_LIMIT = 6000


class TrainRequest(BaseModel):
    """What the user asked for: a job, optional overrides, and whether this is CT."""

    model_config = ConfigDict(frozen=True)

    job: str
    inputs: list[str] = []
    params: list[str] = []
    ct: bool = False
    sample_rows: int | None = None
    """Train and evaluate on at most this many rows of each input (a smoke run); never with ct."""


class TrainResult(BaseModel):
    """The registered version (new, or the existing one CT reused) and its evaluation."""

    model_config = ConfigDict(frozen=True)

    model: str
    version: int
    run_id: str | None
    reused: bool
    metrics: dict[str, float]
    git_sha: str | None
    ct_key: str | None
    model_digest: str | None
    datasets: list[DatasetUse]
    seconds: float


def _ct_key(git: GitState, job: ResolvedJob, data: PreparedData) -> str | None:
    if not git.identified:
        return None
    payload = json.dumps({"git": git.sha, "job": job.job_hash, "data": data.digests}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _check_request(settings: Settings, request: TrainRequest, git: GitState) -> None:
    """CT trains the committed spec; outside dev nothing trains from uncommitted code or specs."""
    if request.ct and request.sample_rows is not None:
        raise UsageError(
            "ct trains on the whole data", hint="sample rows only in a smoke run (`trunkml pipeline model-ci`)"
        )
    if request.ct and (request.inputs or request.params):
        raise UsageError("ct trains the committed job spec", hint="use `trunkml train` for experiments with overrides")
    if not git.identified and settings.env is not Environment.DEV:
        state = "is not a git repository" if git.sha is None else "has uncommitted changes (code, job spec or params)"
        raise RefusedError(
            f"the working tree {state}; in '{settings.env.value}' trunkml trains committed code only",
            hint="commit (or stash) the changes, or run with TRUNKML_ENV=dev",
        )


def _effective_git(root: Path, job: ResolvedJob) -> GitState:
    """The repo state, counted dirty when the job spec or params file is not committed (or lives elsewhere)."""
    git = git_state(root)
    if git.dirty or all(committed(root, root / path) for path in job.files):
        return git
    return git.model_copy(update={"dirty": True})


def _lineage_tags(
    job: ResolvedJob,
    git: GitState,
    data: PreparedData,
    ct_key: str | None,
    kind: str,
    env_hash: str,
    settings: Settings,
) -> dict[str, str]:
    values = {
        tags.GIT_SHA: git.sha or tags.NO_GIT,
        tags.GIT_DIRTY: str(git.dirty).lower(),
        tags.GIT_BRANCH: git.branch or "",
        tags.GIT_AUTHOR: git.author or "",
        tags.JOB: job.path,
        tags.JOB_HASH: job.job_hash,
        tags.ENV_HASH: env_hash,
        tags.KIND: kind,
        tags.DATASETS: json.dumps([use.model_dump() for use in data.uses]),
        tags.ENVIRONMENT: settings.env.value,
    }
    if data.split is not None:
        values[tags.SPLIT] = data.split.model_dump_json()
    if ct_key:
        values[tags.CT_KEY] = ct_key
    return values


def _param_value(value: Any) -> str:
    """MLflow keeps 6000 characters of a param: longer values are logged by hash (full text in job/params.json)."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    if len(text) <= PARAM_LIMIT:
        return text
    return f"sha256:{hashlib.sha256(text.encode()).hexdigest()} ({len(text)} chars; see job/params.json)"


def _log_inputs(job: ResolvedJob, data: PreparedData) -> None:
    own: dict[str, Any] = {f"{OWN_PARAMS}input.{use.role}": use.ref for use in data.uses}
    if data.split is not None:
        own[f"{OWN_PARAMS}split.seed"] = data.split.seed
        own[f"{OWN_PARAMS}split.eval_fraction"] = data.split.eval_fraction
    mlflow.log_params({**{str(k): _param_value(v) for k, v in job.params.items()}, **own})
    mlflow.log_dict(job.params, "job/params.json")
    for use, frame in zip(data.uses, (data.train, data.eval), strict=True):
        dataset = from_pandas(frame, name=use.ref, digest=use.sha256[:32], targets="label")
        mlflow.log_input(
            dataset,
            context="training" if use.role == "train" else "evaluation",
            tags={"sha256": use.sha256, "role": use.role},
        )


def _steps_as_text(report: Report) -> Steps:
    def steps(phase: str, done: int, total: int) -> None:
        report(f"{phase} {done}/{total}")

    return steps


def _call_user_code(
    settings: Settings, job: ResolvedJob, data: PreparedData, workdir: Path, report: Report, steps: Steps | None
) -> ModelPackage:
    function = load_entrypoint(settings.project_root, job.spec.entrypoint, job.spec.code_dir)
    seed = data.split.seed if data.split else int(job.params.get("seed") or 0)
    request = TrainingJob(
        train=data.train,
        params=job.params,
        seed=seed,
        workdir=workdir,
        report=report,
        progress=steps or _steps_as_text(report),
        project_root=settings.project_root,
        schema=data.schema,
    )
    try:
        package = function(request)
    except TrunkmlError:
        raise
    except Exception as exc:
        raise TrainingFailedError(
            f"training function {job.spec.entrypoint} raised {type(exc).__name__}: {exc}",
            hint="the MLflow run is marked FAILED and nothing was registered; fix the code and re-run",
        ) from exc
    if not isinstance(package, ModelPackage):
        raise TrainingFailedError(f"{job.spec.entrypoint} returned {type(package).__name__}, not a ModelPackage")
    return package


def _log_evaluation(
    data: PreparedData, predictions: pd.DataFrame, metrics: dict[str, float], package: ModelPackage
) -> None:
    threshold = package.params.get("threshold")
    mlflow.log_metrics({**metrics, **({"threshold": float(threshold)} if threshold is not None else {})})
    if package.metrics:
        mlflow.log_metrics({f"train.{key}": value for key, value in package.metrics.items()})
    if package.params:
        mlflow.log_params({f"{OWN_PARAMS}model.{key}": _param_value(value) for key, value in package.params.items()})
    if data.task == "regression":
        drawn = regression_figures(data.eval["label"], predictions["score"], "evaluation")
        figures = {f"plots/{name}.png": figure for name, figure in drawn.items()}
    else:
        figures = {
            "plots/confusion_matrix.png": confusion_figure(
                data.eval["label"], predictions["label"], "evaluation", data.class_list
            )
        }
    if data.task == "binary":
        figures["plots/pr_curve.png"] = pr_figure(
            {"model": (data.eval["label"], predictions["score"], threshold)}, "evaluation", data.class_names[1]
        )
    for path, figure in figures.items():
        mlflow.log_figure(figure, path)


def _reuse(registry: Registry, model: str, ct_key: str, data: PreparedData, started: float) -> TrainResult | None:
    existing = find_by_ct_key(registry, model, ct_key)
    if not existing:
        return None
    first = existing[0]
    challenger = current(registry, model, CHALLENGER)
    if challenger is None or challenger < int(first.version):  # a run cut off between registering and aliasing
        move_alias(registry, model, CHALLENGER, int(first.version))
    run = registry.client.get_run(first.run_id) if first.run_id else None
    return TrainResult(
        model=model,
        version=int(first.version),
        run_id=first.run_id,
        reused=True,
        metrics=dict(run.data.metrics) if run else {},
        git_sha=(first.tags or {}).get(tags.GIT_SHA),
        ct_key=ct_key,
        model_digest=(first.tags or {}).get(tags.MODEL_DIGEST),
        datasets=data.uses,
        seconds=time.perf_counter() - started,
    )


def train(settings: Settings, request: TrainRequest, report: Report, steps: Steps | None = None) -> TrainResult:
    """Train one job: verify and validate inputs, run the user's code, evaluate, log and register.

    ``report`` gets phase descriptions; ``steps(phase, done, total)`` gets the training code's
    loop progress (shown as text through ``report`` when not given).
    """
    started = time.perf_counter()
    if settings.signing_key is not None:
        load_private(settings.signing_key)  # a bad key fails now, not after training
    job = load_job(settings.project_root, request.job, request.inputs, request.params)
    git = _effective_git(settings.project_root, job)
    _check_request(settings, request, git)
    report("verifying and validating inputs")
    data = prepare_data(DataService(settings), job.spec)
    if request.sample_rows is not None:
        data = data.sampled(request.sample_rows)
    ct_key = _ct_key(git, job, data) if request.ct else None
    report(f"connecting to {redact(settings.tracking_uri)}")
    registry = Registry(settings)
    if ct_key and (reused := _reuse(registry, job.spec.model, ct_key, data, started)):
        return reused
    try:
        return _run(settings, registry, job, git, data, ct_key, request, (report, steps), started)
    except Exception as exc:
        if not registry.answers():
            raise UnavailableError(
                f"the tracking server {redact(registry.uri)} stopped answering while training; the run did not "
                f"finish (a version is created whole, with its lineage, or not at all)",
                hint=f"run `trunkml {'ct' if request.ct else 'train'} {request.job}` again once the server is back; "
                "CT finds and reuses a version this run did register",
            ) from exc
        raise


def _run(
    settings: Settings,
    registry: Registry,
    job: ResolvedJob,
    git: GitState,
    data: PreparedData,
    ct_key: str | None,
    request: TrainRequest,
    reporters: tuple[Report, Steps | None],
    started: float,
) -> TrainResult:
    report = reporters[0]
    lock = environment_lock()
    run_tags = _lineage_tags(
        job, git, data, ct_key, tags.KIND_CT if request.ct else tags.KIND_EXPERIMENT, environment_hash(lock), settings
    )
    run_name = f"{job.spec.model}@{(git.sha or 'nogit')[:8]}{'+dirty' if git.dirty else ''}"
    with (
        tempfile.TemporaryDirectory(prefix="trunkml-train-") as scratch,
        mlflow.start_run(experiment_id=registry.experiment_id(job.spec.model), run_name=run_name, tags=run_tags) as run,
    ):
        _log_inputs(job, data)
        mlflow.log_text(lock, "environment/requirements.lock.txt")
        mlflow.log_dict(job.spec.model_dump(mode="json"), "job/train.json")
        work = Path(scratch) / "work"
        work.mkdir()
        report(f"training {job.spec.entrypoint}")
        package = _call_user_code(settings, job, data, work, *reporters)
        report("logging the model")
        info = log_model(settings, package, data)
        report("evaluating the stored model")
        digests, metrics, predictions = evaluate_stored(info.model_uri, data, Path(scratch) / "stored")
        _log_evaluation(data, predictions, metrics, package)
        if "threshold" in package.params:
            metrics["threshold"] = float(package.params["threshold"])
        mlflow.log_dict(digests, "model_digests.json")
        digest = model_digest(digests)
        version_tags = {**run_tags, tags.MODEL_DIGEST: digest, tags.ARTIFACT_DIGESTS: json.dumps(digests)}
        version_tags[tags.PROFILE_SHA256] = log_profile(data, predictions)
        version_tags[tags.TRAINED_AT] = str(run.info.start_time)
        version_tags[tags.CLASSES] = class_names_tag(data.class_list)
        labels = data.train["label"]  # what a first challenger must beat: the majority class, or the mean
        trivial = float(labels.mean()) if data.task == "regression" else int(labels.mode().iloc[0])
        version_tags[tags.TRIVIAL] = json.dumps(trivial)
        version_tags[tags.TASK] = data.task
        if settings.signing_key is not None:
            version_tags.update(sign(settings.signing_key, manifest(job.spec.model, digest, digests)))
        report("registering")
        version = register(registry, job.spec.model, info.model_uri, run.info.run_id, version_tags, info.model_id)
        _cache_eval_predictions(
            settings, registry, data, (job.spec.model, version), digest, run.info.run_id, predictions
        )
        kept = _keep_first(registry, job.spec.model, ct_key, version)
        mlflow.set_tag("trunkml.version", str(kept))
        if kept != version:
            mlflow.set_tag("trunkml.superseded_by", str(kept))
    if ct_key and kept != version and (first := _reuse(registry, job.spec.model, ct_key, data, started)):
        return first  # a concurrent CT run registered this (commit, job, data) first
    return TrainResult(
        model=job.spec.model,
        version=version,
        run_id=run.info.run_id,
        reused=False,
        metrics=metrics,
        git_sha=git.sha,
        ct_key=ct_key,
        model_digest=digest,
        datasets=data.uses,
        seconds=time.perf_counter() - started,
    )


def _cache_eval_predictions(
    settings: Settings,
    registry: Registry,
    data: PreparedData,
    model: tuple[str, int],
    digest: str,
    run_id: str,
    predictions: pd.DataFrame,
) -> None:
    """The gate needs this model's eval-set predictions: keep the ones just computed from the stored model."""
    evaluated = next(use for use in data.uses if use.role == "eval")
    if data.split is not None:  # a split's eval rows have no pointer digest of their own
        return
    cache = PredictionCache(registry, settings.home_dir / "cache" / "predictions")
    cache.store(
        model[0],
        model[1],
        run_id,
        digest,
        evaluated.sha256,
        predictions["label"].to_numpy(),
        predictions["score"].to_numpy(),
    )


def _keep_first(registry: Registry, model: str, ct_key: str | None, version: int) -> int:
    """If a concurrent CT run registered the same key first, drop ours so one version remains."""
    if not ct_key:
        return version
    first = int(find_by_ct_key(registry, model, ct_key)[0].version)
    if first != version:
        delete_version(registry, model, version)
        registry.client.set_registered_model_alias(model, CHALLENGER, str(first))
    return first
