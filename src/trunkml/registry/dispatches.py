"""The last retraining request a monitor sent for a model, kept as a registered-model tag.

It lives in the registry so that every monitor run, on any machine, sees it.
"""

from __future__ import annotations

import json
from typing import Any

from mlflow.exceptions import MlflowException

from trunkml.registry.connection import Registry

LAST_DISPATCH = "trunkml.monitor.last_dispatch"


def last_dispatch(registry: Registry, model: str) -> dict[str, Any] | None:
    """The last recorded dispatch of ``model`` (None if none, or the model is not registered)."""
    try:
        tags = registry.client.get_registered_model(model).tags or {}
    except MlflowException:
        return None
    text = tags.get(LAST_DISPATCH)
    try:
        found = json.loads(text) if text else None
    except json.JSONDecodeError:
        return None
    return found if isinstance(found, dict) else None


def record_dispatch(registry: Registry, model: str, record: dict[str, Any]) -> None:
    """Remember ``record`` as the last dispatch of ``model``."""
    registry.client.set_registered_model_tag(model, LAST_DISPATCH, json.dumps(record, sort_keys=True))
