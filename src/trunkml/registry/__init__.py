"""Registry: the one facade over MLflow's model registry (refs, aliases, lineage)."""

from trunkml.registry import lineage
from trunkml.registry.connection import Registry
from trunkml.registry.modelversion import DatasetUse, ModelVersionRecord
from trunkml.registry.versions import (
    CHALLENGER,
    CHAMPION,
    ensure_registered_model,
    find_by_ct_key,
    list_records,
    register,
    resolve_version,
    show,
)

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "DatasetUse",
    "ModelVersionRecord",
    "Registry",
    "ensure_registered_model",
    "find_by_ct_key",
    "lineage",
    "list_records",
    "register",
    "resolve_version",
    "show",
]
