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

import numpy as np
from numpy.typing import NDArray

from trunkml.registry.artifacts import VerifiedModel, download_run_file, upload_run_file
from trunkml.registry.connection import Registry

PREDICTION_CODE_VERSION = "1"
REMOTE_DIR = "trunkml/predictions"


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
    except (OSError, KeyError, ValueError):
        return None  # a damaged cache entry is recomputed, never trusted
    return (labels, scores) if len(labels) == rows == len(scores) else None


class PredictionCache:
    """Local-then-shared cache of model predictions on datasets."""

    def __init__(self, registry: Registry, local_dir: Path) -> None:
        self.registry = registry
        self.local_dir = local_dir

    def predictions(
        self,
        model: str,
        version: int,
        model_digest: str | None,
        run_id: str | None,
        dataset_sha256: str,
        texts: list[str],
    ) -> Predictions:
        """Predictions of ``model`` version ``version`` on ``texts`` (the dataset with ``dataset_sha256``)."""
        key = cache_key(model_digest, dataset_sha256) if model_digest else None
        local = self.local_dir / f"{key}.npz" if key else None
        if local is not None and local.is_file() and (hit := _load(local, len(texts))):
            return Predictions(*hit, source=CacheSource.LOCAL)
        if key and run_id and (shared := self._from_shared(run_id, key, len(texts))):
            self._save(local, *shared)
            return Predictions(*shared, source=CacheSource.SHARED)
        loaded = VerifiedModel(self.registry, model, version)
        try:
            labels, scores = loaded.predict(texts)
        finally:
            loaded.close()
        if key is None or loaded.digest != model_digest:
            key = cache_key(loaded.digest, dataset_sha256)
            local = self.local_dir / f"{key}.npz"
        self._save(local, labels, scores)
        if run_id and local is not None:
            upload_run_file(self.registry, run_id, local, REMOTE_DIR)
        return Predictions(labels, scores, source=CacheSource.COMPUTED)

    def store(
        self,
        model_digest: str,
        run_id: str,
        dataset_sha256: str,
        labels: NDArray[np.int64],
        scores: NDArray[np.float64],
    ) -> None:
        """Record predictions computed elsewhere (CT evaluates the stored model on the eval set)."""
        local = self.local_dir / f"{cache_key(model_digest, dataset_sha256)}.npz"
        self._save(local, np.asarray(labels, dtype=np.int64), np.asarray(scores, dtype=np.float64))
        upload_run_file(self.registry, run_id, local, REMOTE_DIR)

    def _from_shared(self, run_id: str, key: str, rows: int) -> tuple[NDArray[np.int64], NDArray[np.float64]] | None:
        with tempfile.TemporaryDirectory() as tmp:
            path = download_run_file(self.registry, run_id, f"{REMOTE_DIR}/{key}.npz", Path(tmp))
            return _load(path, rows) if path else None

    def _save(self, path: Path | None, labels: NDArray[np.int64], scores: NDArray[np.float64]) -> None:
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as handle:
            np.savez(handle, labels=labels, scores=scores)
        Path(handle.name).replace(path)
