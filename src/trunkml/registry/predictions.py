"""Predictions on the frozen eval set, cached by (model digest, dataset digest, prediction-code version).

The champion's predictions are computed once and reused for every later challenger.
A local cache (``<TRUNKML_HOME>/cache/predictions``) sits in front of a shared one: the
model version's own run artifacts, so a remote registry shares the cache across machines.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    import pandas as pd

from trunkml.errors import IntegrityError
from trunkml.registry.artifacts import VerifiedModel, check_recorded, download_run_file, upload_run_file
from trunkml.registry.connection import Registry

PREDICTION_CODE_VERSION = "1"
REMOTE_DIR = "trunkml/predictions"
TAG_PREFIX = "trunkml.predictions."


class CacheSource(StrEnum):
    """Where a set of predictions came from."""

    LOCAL = "local cache"
    SHARED = "shared cache (artifact store)"
    COMPUTED = "computed"


@dataclass(frozen=True)
class Predictions:
    """Labels and scores of one model on one dataset, in row order."""

    labels: NDArray[np.int64]
    scores: NDArray[np.float64]
    source: CacheSource


def cache_key(model_digest: str, dataset_sha256: str) -> str:
    """The cache key: changes when the model, the data or the prediction code changes."""
    return hashlib.sha256(f"{model_digest}:{dataset_sha256}:{PREDICTION_CODE_VERSION}".encode()).hexdigest()


def _load(path: Path, rows: int) -> tuple[NDArray[np.int64], NDArray[np.float64]] | None:
    try:
        with np.load(path, allow_pickle=False) as arrays:
            labels, scores = arrays["labels"].astype(np.int64), arrays["scores"].astype(np.float64)
    except Exception:  # any damage (empty, truncated, not a zip, wrong arrays): recompute, never trust
        return None
    return (labels, scores) if len(labels) == rows == len(scores) else None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class PredictionCache:
    """Local-then-shared cache of model predictions on datasets.

    Each cached file's sha256 is recorded on the model version (tag ``trunkml.predictions.<key>``);
    a cached file, local or shared, is used only if it matches, so a forged or damaged cache
    entry is recomputed from the digest-verified model instead of deciding anything.
    """

    def __init__(self, registry: Registry, local_dir: Path) -> None:
        self.registry = registry
        self.local_dir = local_dir

    def _expected(self, model: str, version: int, key: str) -> str | None:
        tags = self.registry.client.get_model_version(model, str(version)).tags or {}
        return tags.get(f"{TAG_PREFIX}{key}")

    def predictions(
        self,
        model: str,
        version: int,
        model_digest: str | None,
        run_id: str | None,
        dataset_sha256: str,
        texts: list[str] | pd.DataFrame,
    ) -> Predictions:
        """Predictions of ``model`` version ``version`` on ``texts`` (the dataset with ``dataset_sha256``)."""
        if not model_digest:
            raise IntegrityError(f"{model} version {version} has no recorded model digest; it cannot be evaluated")
        key = cache_key(model_digest, dataset_sha256)
        local = self.local_dir / f"{key}.npz"
        # Cached predictions skip the download, so they are used only for a version whose recorded digests hang
        # together and match its approvals; with signatures required, only what a verified load computes counts.
        expected = None if self.registry.settings.verify_key else self._expected(model, version, key)
        if expected:
            check_recorded(self.registry, model, version, model_digest)
        if expected and local.is_file() and _sha256(local) == expected and (hit := _load(local, len(texts))):
            return Predictions(*hit, source=CacheSource.LOCAL)
        if expected and run_id and (shared := self._from_shared(run_id, key, len(texts), expected)):
            self._save(local, *shared)
            return Predictions(*shared, source=CacheSource.SHARED)
        loaded = VerifiedModel(self.registry, model, version)
        try:
            if loaded.digest != model_digest:
                raise IntegrityError(
                    f"{model} version {version}: the stored model's digest differs from the recorded one"
                )
            labels, scores = loaded.predict(texts)
        finally:
            loaded.close()
        self.store(model, version, run_id, model_digest, dataset_sha256, labels, scores)
        return Predictions(labels, scores, source=CacheSource.COMPUTED)

    def store(
        self,
        model: str,
        version: int,
        run_id: str | None,
        model_digest: str,
        dataset_sha256: str,
        labels: NDArray[np.int64],
        scores: NDArray[np.float64],
    ) -> None:
        """Cache predictions (local file, shared artifact) and record their digest on the version."""
        key = cache_key(model_digest, dataset_sha256)
        local = self.local_dir / f"{key}.npz"
        self._save(local, np.asarray(labels, dtype=np.int64), np.asarray(scores, dtype=np.float64))
        self.registry.client.set_model_version_tag(model, str(version), f"{TAG_PREFIX}{key}", _sha256(local))
        if run_id:
            upload_run_file(self.registry, run_id, local, REMOTE_DIR)

    def _from_shared(
        self, run_id: str, key: str, rows: int, expected: str
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]] | None:
        with tempfile.TemporaryDirectory() as tmp:
            path = download_run_file(self.registry, run_id, f"{REMOTE_DIR}/{key}.npz", Path(tmp))
            if path is None or _sha256(path) != expected:
                return None
            return _load(path, rows)

    def _save(self, path: Path, labels: NDArray[np.int64], scores: NDArray[np.float64]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as handle:
            np.savez(handle, labels=labels, scores=scores)
        Path(handle.name).replace(path)
