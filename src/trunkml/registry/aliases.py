"""Moving aliases safely: retry on conflict, read back and confirm.

MLflow's first-time alias creation races (concurrent callers hit a UNIQUE constraint on
SQLite and PostgreSQL). Every write here is retried with backoff and then confirmed by
reading the alias back. Promotions of one model are serialised across machines by the
lease in ``registry.lease``.
"""

from __future__ import annotations

import random
import time

from mlflow.exceptions import MlflowException

from trunkml.errors import UnavailableError
from trunkml.registry.connection import Registry

ATTEMPTS = 12


def current(registry: Registry, model: str, alias: str) -> int | None:
    """The version ``alias`` points at, or None."""
    try:
        return int(registry.client.get_model_version_by_alias(model, alias).version)
    except MlflowException:
        return None


def move_alias(registry: Registry, model: str, alias: str, version: int) -> None:
    """Point ``alias`` at ``version``; retried on conflicts and confirmed by reading it back."""
    last: Exception | None = None
    for attempt in range(ATTEMPTS):
        try:
            registry.client.set_registered_model_alias(model, alias, str(version))
        except MlflowException as exc:  # e.g. UNIQUE constraint when two processes create the alias at once
            last = exc
        if current(registry, model, alias) == version:
            return
        time.sleep(min(0.05 * 2**attempt, 1.0) * (0.5 + random.random()))
    raise UnavailableError(f"could not move @{alias} of {model} to version {version}: {last}")


def remove_alias(registry: Registry, model: str, alias: str) -> None:
    """Delete ``alias`` if it exists."""
    try:
        registry.client.delete_registered_model_alias(model, alias)
    except MlflowException:
        return
