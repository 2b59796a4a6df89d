"""The paths a job watches: the ones whose changes must train it, and whose authors a reviewer must not be."""

from __future__ import annotations

from pathlib import Path

from trunkml.config import Settings
from trunkml.datasets import DataService
from trunkml.datasets.pointer import DatasetRef
from trunkml.errors import UsageError
from trunkml.training.jobspec import load_job


def trigger_paths(settings: Settings, job_name: str) -> list[str]:
    """The paths whose changes must train the job: job folder, entrypoint package, watched paths, dataset pointers."""
    root = settings.project_root
    job = load_job(root, job_name)
    package = job.spec.entrypoint.split(":")[0].split(".")[0]
    code = Path(job.spec.code_dir) / package
    module = code if (root / code).is_dir() else code.with_suffix(".py")
    if not (root / module).exists():
        raise UsageError(
            f"the job's code ({module}) does not exist, so check-main cannot watch it",
            hint=f"check entrypoint and code_dir in {job.path}",
        )
    paths = {str(Path(job.path).parent), str(module)}
    for watched in job.spec.watch:
        if not (root / watched).exists():
            raise UsageError(f"the job watches {watched}, which does not exist", hint=f"fix 'watch' in {job.path}")
        paths.add(str(Path(watched)))
    catalog = DataService(settings).catalog
    for ref in job.spec.inputs.values():
        name = DatasetRef.parse(ref).name
        paths.add(f"datasets/{name}")
        pointer = catalog.get(DatasetRef(name=name))
        if pointer.uri.startswith("split:"):
            paths.add(f"datasets/{DatasetRef.parse(pointer.uri.removeprefix('split:').split('?')[0]).name}")
    return sorted(paths)
