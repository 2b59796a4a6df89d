"""Model and run artifacts: verified model loading, run files (prediction cache), decision records."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException

from trunkml.errors import IntegrityError
from trunkml.registry import lineage
from trunkml.registry.connection import Registry
from trunkml.registry.records import ModelVersionRecord

MLFLOW_WRITTEN = frozenset({"registered_model_meta"})
COPIED_FROM = "trunkml.copied_from"


def file_digests(folder: Path) -> dict[str, str]:
    """sha256 of every model file under ``folder``, keyed by its relative POSIX path.

    ``registered_model_meta`` is left out: MLflow writes it when a model is downloaded
    or served, so it is not part of what training stored.
    """
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name not in MLFLOW_WRITTEN
    }


def model_digest(digests: dict[str, str]) -> str:
    """One digest for a model: sha256 of its sorted per-file digests."""
    return hashlib.sha256(json.dumps(digests, sort_keys=True).encode()).hexdigest()


def verify_model_files(registry: Registry, name: str, version: int, scratch: Path) -> tuple[Path, str]:
    """Download a version's model into ``scratch`` and check every file against the recorded digests.

    Returns (local folder, model digest). No record, or any difference, raises IntegrityError.
    """
    details = registry.client.get_model_version(name, str(version))
    recorded = json.loads((details.tags or {}).get(lineage.ARTIFACT_DIGESTS, "{}"))
    if not recorded:
        raise IntegrityError(
            f"model {name} version {version} has no recorded artifact digests; refusing to load it unverified",
            hint="register models through `trunkml ct` / `trunkml train`, which record them",
        )
    registry.activate()
    local = Path(mlflow.artifacts.download_artifacts(f"models:/{name}/{version}", dst_path=str(scratch)))
    actual = file_digests(local)
    if actual != recorded:
        changed = sorted(k for k in set(actual) | set(recorded) if actual.get(k) != recorded.get(k))
        raise IntegrityError(
            f"model {name} version {version} does not match its recorded artifact digests: {', '.join(changed[:5])}",
            hint="the stored model was changed after registration; do not use it",
        )
    return local, model_digest(actual)


class VerifiedModel:
    """A registered model version loaded from files whose digests match the ones recorded at registration."""

    def __init__(self, registry: Registry, name: str, version: int) -> None:
        self._scratch = tempfile.mkdtemp(prefix="trunkml-model-")
        try:
            local, self.digest = verify_model_files(registry, name, version, Path(self._scratch))
            self._model = mlflow.pyfunc.load_model(str(local))
        except BaseException:
            shutil.rmtree(self._scratch, ignore_errors=True)
            raise

    def predict(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(labels, scores) for ``texts``."""
        output = self._model.predict(pd.DataFrame({"text": texts}))
        return output["label"].to_numpy(dtype=np.int64), output["score"].to_numpy(dtype=np.float64)

    def close(self) -> None:
        """Remove the downloaded files."""
        shutil.rmtree(self._scratch, ignore_errors=True)


def download_run_file(registry: Registry, run_id: str, artifact_path: str, destination: Path) -> Path | None:
    """Fetch one file from a run's artifacts into ``destination`` (a folder); None if it is not there."""
    try:
        local = registry.client.download_artifacts(run_id, artifact_path, str(destination))
    except (MlflowException, OSError):
        return None
    path = Path(local)
    return path if path.is_file() else None


def upload_run_file(registry: Registry, run_id: str, local_file: Path, artifact_dir: str) -> None:
    """Add ``local_file`` to a run's artifacts under ``artifact_dir``."""
    registry.client.log_artifact(run_id, str(local_file), artifact_dir)


def record_on_version(
    registry: Registry, name: str, version: int, document: dict[str, Any], artifact_file: str, tags: dict[str, str]
) -> None:
    """Store ``document`` as a JSON artifact of the version's run and set ``tags`` on the version."""
    details = registry.client.get_model_version(name, str(version))
    if details.run_id:
        registry.client.log_dict(details.run_id, document, artifact_file)
    for key, value in tags.items():
        registry.client.set_model_version_tag(name, str(version), key, value)


def load_run_json(registry: Registry, run_id: str, artifact_file: str) -> dict[str, Any] | None:
    """Read a JSON artifact of a run (None if absent)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = download_run_file(registry, run_id, artifact_file, Path(tmp))
        return json.loads(path.read_text(encoding="utf-8")) if path else None


def copy_version(
    target: Registry, name: str, local: Path, record: ModelVersionRecord, origin: str, profile: str | None = None
) -> int:
    """Register the files in ``local`` in ``target`` with ``record``'s tags (or find the earlier copy of ``origin``).

    ``profile`` (the verified reference profile JSON) travels with the copy, so the copy can be monitored.
    """
    from trunkml.registry.versions import all_versions, register

    for version in all_versions(target, name):
        if (version.tags or {}).get(COPIED_FROM) == origin:
            return int(version.version)
    experiment = target.experiment_id(name)
    run = target.client.create_run(experiment, run_name=f"copy of {origin}", tags={COPIED_FROM: origin})
    target.client.log_artifacts(run.info.run_id, str(local), "model")
    if profile is not None:
        target.client.log_text(run.info.run_id, profile, lineage.PROFILE_ARTIFACT)
    target.client.set_terminated(run.info.run_id)
    tags = {**record.tags_for_copy(), COPIED_FROM: origin}
    return register(target, name, f"{run.info.artifact_uri}/model", run.info.run_id, tags)
