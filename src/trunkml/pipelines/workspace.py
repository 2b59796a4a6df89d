"""workspace-cd: provision an environment's stores so every other pipeline finds them ready.

For a SQL backend it runs ``mlflow db upgrade`` (creating or migrating the schema);
an MLflow server is only checked for reachability (it manages its own database), or,
when the environment declares ``server:``, started here on PostgreSQL and object
storage if it does not answer (see ``trackingserver``). It
then creates the local artifact location, the experiment of every job's model, the
registered models, and syncs every dataset pointer into the content-addressed store
(fetched from the mirror or the pointer's URI, sha256-verified). Running it again
changes nothing that is already in place.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

from trunkml.config import Settings, load_project, settings_for
from trunkml.datasets import DataService
from trunkml.errors import RefusedError
from trunkml.pipelines.steps import Emit, PipelineResult, PipelineRun, run_pipeline
from trunkml.pipelines.triggers import job_names
from trunkml.registry import Registry, ensure_registered_model
from trunkml.registry.connection import redact
from trunkml.registry.trackingserver import ensure_server, migrate
from trunkml.training.jobspec import load_job

SQL_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql")
UPGRADE_TIMEOUT_S = 600


def _database(settings: Settings, uri: str) -> str:
    scheme = urlsplit(uri).scheme.split("+")[0]
    if scheme not in SQL_SCHEMES:
        return f"{scheme or 'file'} store: nothing to migrate here"
    if scheme == "sqlite":
        Path(urlsplit(uri).path[1:]).resolve().parent.mkdir(parents=True, exist_ok=True)
    migrate(settings, uri, UPGRADE_TIMEOUT_S)
    return f"mlflow db upgrade {redact(uri)}: schema current"


def _artifacts(registry: Registry) -> str:
    root = registry.artifact_root
    if root is None:
        return "the tracking server's artifact store"
    path = Path(urlsplit(root).path)
    path.mkdir(parents=True, exist_ok=True)
    return str(path)


def _models(settings: Settings) -> list[str]:
    return sorted({load_job(settings.project_root, job).spec.model for job in job_names(settings.project_root)})


def _sync(settings: Settings) -> str:
    service = DataService(settings)
    summary = service.pull(None)
    failed = [f"{r.dataset}: {r.detail}" for r in summary.results if not r.ok]
    if failed:
        raise RefusedError("dataset sync failed (fails closed):\n  " + "\n  ".join(failed))
    return f"{len(summary.results)} dataset version(s) in the store, sha256 verified"


def _describe_id(experiment: str) -> str:
    return f"id {experiment}"


def _describe_created(created: bool) -> str:
    return "created" if created else "exists"


def workspace_cd(settings: Settings, env: str | None = None, emit: Emit | None = None) -> PipelineResult:
    """Provision ``env``'s registry database, artifact location, experiments, models and data store."""

    def body(run: PipelineRun) -> None:
        target = settings_for(settings, env) if env else settings
        run.outputs["env"] = target.env.value
        run.outputs["tracking_uri"] = redact(target.tracking_uri)
        config = load_project(settings.project_root).environments.get(target.env.value)
        if config is not None and config.server is not None:
            server = config.server
            run.step("tracking server", lambda: ensure_server(target, target.env.value, server), str)
        run.step("registry database", lambda: _database(target, target.tracking_uri), str)
        registry = run.step("connect", lambda: Registry(target), lambda r: redact(r.uri))
        run.step("artifact location", lambda: _artifacts(registry), str)
        models = run.step("jobs", lambda: _models(target), lambda m: ", ".join(m) or "none")
        for model in models:
            run.step(f"experiment for {model}", partial(registry.experiment_id, model), _describe_id)
            run.step(f"registered model {model}", partial(ensure_registered_model, registry, model), _describe_created)
        run.step("sync dataset pointers", lambda: _sync(target), str)

    return run_pipeline("workspace-cd", body, emit)
