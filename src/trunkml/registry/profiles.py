"""Reference profiles: the data summary each version's run stores for `trunkml monitor`.

Training logs the profile as a run artifact and records its sha256 on the version; reading
it re-hashes the bytes, so a profile changed after registration is refused (fail closed).
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from mlflow.exceptions import MlflowException

from trunkml.errors import IntegrityError, NoProfile, NotFoundError, UnavailableError
from trunkml.registry import lineage
from trunkml.registry.artifacts import download_run_file
from trunkml.registry.connection import Registry, redact


def load_profile_text(registry: Registry, name: str, version: int) -> str:
    """The verified profile JSON of ``name`` version ``version``.

    Raises NoProfile for a version trained without one, NotFoundError for a version this registry
    does not have, IntegrityError when the stored bytes differ from the recorded sha256 or are missing.
    """
    try:
        details = registry.client.get_model_version(name, str(version))
    except MlflowException as exc:
        where = redact(registry.settings.tracking_uri)
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise NotFoundError(
                f"{name} v{version} is not in the registry at {where}",
                hint="the log was written by a server following another registry: set TRUNKML_ENV or "
                "MLFLOW_TRACKING_URI to that one",
            ) from exc
        raise UnavailableError(f"the registry at {where} did not answer: {str(exc).splitlines()[0]}") from exc
    expected = (details.tags or {}).get(lineage.PROFILE_SHA256)
    if not expected or not details.run_id:
        raise NoProfile(
            f"{name} v{version} has no reference profile (it was registered without one)",
            hint="versions trained by `trunkml train`/`trunkml ct` carry one; retrain to monitor drift",
        )
    with tempfile.TemporaryDirectory(prefix="trunkml-profile-") as scratch:
        path = download_run_file(registry, details.run_id, lineage.PROFILE_ARTIFACT, Path(scratch))
        data = path.read_bytes() if path else None
    if data is None:
        raise IntegrityError(f"{name} v{version}: its reference profile is missing from the run's artifacts")
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise IntegrityError(
            f"{name} v{version}: reference profile sha256 mismatch: expected {expected}, got {actual}",
            hint="the stored profile was changed after registration; retrain the version",
        )
    return data.decode("utf-8")
