"""Model and run artifacts: verified model loading, run files (prediction cache), decision records."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException

from trunkml.errors import IntegrityError, UnavailableError
from trunkml.registry import lineage
from trunkml.registry.connection import Registry
from trunkml.registry.explain import Explanation, explain_texts
from trunkml.registry.loading import load_verified
from trunkml.registry.model_inputs import SCHEMA_KEY, Answers, Row, metadata, predict_answers, predict_rows
from trunkml.registry.modelversion import ModelVersionRecord
from trunkml.registry.signing import manifest, verify

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
    try:
        local = Path(mlflow.artifacts.download_artifacts(f"models:/{name}/{version}", dst_path=str(scratch)))
    except (MlflowException, OSError) as exc:  # the artifact store (or the server in front of it) did not deliver
        first = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        raise UnavailableError(
            f"could not download model {name} version {version} from the artifact store: {first}",
            hint="check that the artifact store answers; nothing was loaded",
        ) from exc
    actual = file_digests(local)
    if actual != recorded:
        changed = sorted(k for k in set(actual) | set(recorded) if actual.get(k) != recorded.get(k))
        raise IntegrityError(
            f"model {name} version {version} does not match its recorded artifact digests: {', '.join(changed[:5])}",
            hint="the stored model was changed after registration; do not use it",
        )
    digest = model_digest(actual)
    _check_approved_digest(details.tags or {}, digest, f"model {name} version {version}")
    if registry.settings.verify_key is not None:
        verify(registry.settings.verify_key, manifest(name, digest, actual), details.tags or {},
               f"model {name} version {version}")  # fmt: skip
    return local, digest


def check_recorded(registry: Registry, name: str, version: int, digest: str) -> None:
    """Without downloading: the version's recorded digests agree with ``digest`` and with its approvals."""
    tags = registry.client.get_model_version(name, str(version)).tags or {}
    recorded = json.loads(tags.get(lineage.ARTIFACT_DIGESTS, "{}"))
    if not recorded or model_digest(recorded) != digest or tags.get(lineage.MODEL_DIGEST) != digest:
        raise IntegrityError(f"model {name} version {version}: its recorded digests do not agree with each other")
    _check_approved_digest(tags, digest, f"model {name} version {version}")


def _check_approved_digest(version_tags: dict[str, str], digest: str, what: str) -> None:
    """Every approval that recorded the model digest it approved must name these files' digest."""
    for key, raw in version_tags.items():
        if not key.startswith(lineage.APPROVAL_PREFIX):
            continue
        try:
            document = json.loads(raw)
            approved = (document.get("statement") or document).get("model_digest")
        except (ValueError, AttributeError):
            approved = "unreadable"
        if approved and approved != digest:
            raise IntegrityError(
                f"{what} is not the model that was approved: its files digest to {digest[:12]}, the approval "
                f"{key.removeprefix(lineage.APPROVAL_PREFIX)} was given on {str(approved)[:12]}",
                hint="the stored model (and its recorded digests) changed after approval; do not use it",
            )


class VerifiedModel:
    """A registered model version loaded from files whose digests match the ones recorded at registration."""

    def __init__(self, registry: Registry, name: str, version: int) -> None:
        self._scratch = tempfile.mkdtemp(prefix="trunkml-model-")
        try:
            self.folder, self.digest = verify_model_files(registry, name, version, Path(self._scratch))
            self._model = load_verified(self.folder)
        except BaseException:
            shutil.rmtree(self._scratch, ignore_errors=True)
            raise

    @property
    def schema(self) -> dict[str, Any] | None:
        """The dataset schema recorded with the model (None for models registered before schemas)."""
        found = metadata(self._model).get(SCHEMA_KEY)
        return dict(found) if isinstance(found, dict) else None

    def predict(self, rows: Sequence[Row] | pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(labels, scores) for ``rows`` (texts, records, or a frame of the model's inputs)."""
        return predict_rows(self._model, rows)

    def answer(self, rows: Sequence[Row] | pd.DataFrame) -> Answers:
        """Everything the model answers for ``rows`` (labels, scores, class probabilities, intervals)."""
        return predict_answers(self._model, rows)

    def explain(self, rows: Sequence[Row], top_k: int) -> list[Explanation]:
        """Explanations of ``rows`` (see ``registry.explain``)."""
        return explain_texts(self._model, rows, top_k)

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


def document_digest(document: dict[str, Any]) -> str:
    """sha256 of a decision document in canonical JSON (what a decision's summary and approvals record)."""
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()


def find_decision(registry: Registry, run_id: str, digest: str) -> dict[str, Any] | None:
    """The decision document in a run's ``trunkml/decisions/`` whose digest is ``digest``, if any."""
    try:
        listed = registry.client.list_artifacts(run_id, "trunkml/decisions")
    except Exception as exc:
        raise UnavailableError(
            f"cannot list the decision documents of run {run_id} in the artifact store: {str(exc)[:300]}"
        ) from exc
    for item in listed:
        if item.is_dir or not item.path.endswith(".json"):
            continue
        document = load_run_json(registry, run_id, item.path)
        if document is not None and document_digest(document) == digest:
            return document
    return None


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


EVIDENCE_DIRS = ("trunkml/decisions", "trunkml/reports", "trunkml/infra")


def download_evidence(registry: Registry, run_id: str, destination: Path) -> Path | None:
    """The version's review evidence (decision documents, gate reports, infra validations) from its run."""
    found = False
    root = destination / "trunkml"
    root.mkdir(parents=True, exist_ok=True)
    for folder in EVIDENCE_DIRS:
        try:  # MLflow puts a downloaded folder under its last name: trunkml/decisions -> root/decisions
            registry.client.download_artifacts(run_id, folder, str(root))
            found = True
        except (MlflowException, OSError):
            continue
    return root if found else None


def copy_version(
    target: Registry,
    name: str,
    local: Path,
    record: ModelVersionRecord,
    origin: str,
    profile: str | None = None,
    evidence: Path | None = None,
) -> int:
    """Register the files in ``local`` in ``target`` with ``record``'s tags (or find the earlier copy of ``origin``).

    ``profile`` (the verified reference profile JSON) travels with the copy, so the copy can be monitored;
    ``evidence`` (see :func:`download_evidence`) too, so a reviewer in the target environment sees it.
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
    if evidence is not None:
        target.client.log_artifacts(run.info.run_id, str(evidence), "trunkml")
    target.client.set_terminated(run.info.run_id)
    tags = {**record.tags_for_copy(), COPIED_FROM: origin}
    return register(target, name, f"{run.info.artifact_uri}/model", run.info.run_id, tags)
