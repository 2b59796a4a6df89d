"""Built environments, recorded in the registry's tracking store so every machine sees the same list.

One MLflow run per (environment name, lock sha256) in the ``trunkml-environments``
experiment, with the lock and the installed package list as artifacts. Training
runs tag the lock sha256 of the environment their job names, which finds it here.
"""

from __future__ import annotations

from trunkml.registry.connection import Registry

EXPERIMENT = "trunkml-environments"
NAME = "trunkml.environment.name"
LOCK_SHA256 = "trunkml.environment.lock_sha256"
PYTHON = "trunkml.environment.python"


def find_environment(registry: Registry, name: str, lock_sha256: str) -> str | None:
    """The run id recording environment ``name`` built from the lock with ``lock_sha256``, if any."""
    experiment = registry.client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        return None
    runs = registry.client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.`{NAME}` = '{name}' and tags.`{LOCK_SHA256}` = '{lock_sha256}'",
        max_results=1,
    )
    return runs[0].info.run_id if runs else None


def record_environment(
    registry: Registry, name: str, lock_sha256: str, python: str, files: dict[str, str]
) -> tuple[str, bool]:
    """Record a built environment (idempotent); returns (run id, True if recorded by this call)."""
    found = find_environment(registry, name, lock_sha256)
    if found is not None:
        return found, False
    experiment = registry.ensure_experiment(EXPERIMENT)
    run = registry.client.create_run(
        experiment,
        run_name=f"{name}@{lock_sha256[:12]}",
        tags={NAME: name, LOCK_SHA256: lock_sha256, PYTHON: python},
    )
    for path, text in files.items():
        registry.client.log_text(run.info.run_id, text, path)
    registry.client.set_terminated(run.info.run_id)
    return run.info.run_id, True
