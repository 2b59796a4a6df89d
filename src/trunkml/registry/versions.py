"""Reading and writing model versions: refs, lineage records, registration, aliases.

Refs a user may pass: ``@alias`` (``@champion``, ``@challenger``), ``latest``, a
version number ``N``, or ``sha:<git-sha-prefix>``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from trunkml.config.names import check_name
from trunkml.errors import NotFoundError, UsageError
from trunkml.registry import lineage
from trunkml.registry.connection import Registry
from trunkml.registry.modelversion import DatasetUse, ModelVersionRecord

ALIAS = re.compile(r"^@([A-Za-z][\w-]*)$")
SHA = re.compile(r"^sha:([0-9a-fA-F]{4,40})$")
MODEL_NAME = re.compile(r"^[A-Za-z0-9][\w.-]{0,127}$")
APPROVAL_PREFIX = lineage.APPROVAL_PREFIX
CHALLENGER = "challenger"
CHAMPION = "champion"


def _json_tag(tags: dict[str, str], key: str, default: Any) -> Any:
    try:
        return json.loads(tags[key]) if key in tags else default
    except json.JSONDecodeError:
        return default


def _aliases(registry: Registry, name: str) -> dict[int, list[str]]:
    """Version → aliases, read from the registered model (search results may omit aliases)."""
    try:
        model = registry.client.get_registered_model(name)
    except MlflowException:
        return {}
    by_version: dict[int, list[str]] = {}
    for alias, version in (model.aliases or {}).items():
        by_version.setdefault(int(version), []).append(alias)
    return by_version


def _record(
    registry: Registry, version: ModelVersion, aliases: dict[int, list[str]] | None = None
) -> ModelVersionRecord:
    tags = dict(version.tags or {})
    if aliases is None:
        aliases = _aliases(registry, version.name)
    run = registry.client.get_run(version.run_id) if version.run_id else None
    dirty = tags.get(lineage.GIT_DIRTY)
    return ModelVersionRecord(
        name=version.name,
        version=int(version.version),
        aliases=sorted(aliases.get(int(version.version), [])),
        status=str(version.status),
        created_ms=int(version.creation_timestamp or 0),
        run_id=version.run_id,
        source=str(version.source),
        kind=tags.get(lineage.KIND),
        git_sha=tags.get(lineage.GIT_SHA),
        git_dirty=None if dirty is None else dirty == "true",
        git_branch=tags.get(lineage.GIT_BRANCH),
        git_author=tags.get(lineage.GIT_AUTHOR) or None,
        job=tags.get(lineage.JOB),
        job_hash=tags.get(lineage.JOB_HASH),
        env_hash=tags.get(lineage.ENV_HASH),
        ct_key=tags.get(lineage.CT_KEY),
        model_digest=tags.get(lineage.MODEL_DIGEST),
        datasets=[DatasetUse.model_validate(item) for item in _json_tag(tags, lineage.DATASETS, [])],
        split=_json_tag(tags, lineage.SPLIT, None),
        artifact_digests=_json_tag(tags, lineage.ARTIFACT_DIGESTS, {}),
        params=dict(run.data.params) if run else {},
        metrics={key: float(value) for key, value in run.data.metrics.items()} if run else {},
        run_status=run.info.status if run else None,
        gate={key: value for key, value in tags.items() if key.startswith("trunkml.gate.")},
        approvals=[json.loads(value) for key, value in sorted(tags.items()) if key.startswith(APPROVAL_PREFIX)],
        raw_tags={key: value for key, value in tags.items() if key.startswith(lineage.PREFIX)},
    )


def check_model_name(name: str) -> str:
    """Registered model names are letters, digits, '.', '_' and '-' (they go into registry queries)."""
    if not MODEL_NAME.match(name):
        raise UsageError(f"bad model name '{name}'", hint="use letters, digits, '.', '_' or '-', e.g. churn-model")
    return name


def all_versions(registry: Registry, name: str) -> list[ModelVersion]:
    """Every version of ``name``, oldest first (empty if the model is not registered yet)."""
    found = registry.client.search_model_versions(f"name = '{check_model_name(name)}'")
    return sorted(found, key=lambda version: int(version.version))


def _by_number(registry: Registry, name: str, number: int) -> ModelVersion:
    try:
        return registry.client.get_model_version(name, str(number))
    except MlflowException as exc:
        raise NotFoundError(f"model '{name}' has no version {number}", hint="see `trunkml models list`") from exc


def _by_sha(registry: Registry, name: str, prefix: str) -> ModelVersion:
    """The version CT trained at the commit starting with ``prefix`` (experiments only if CT made none)."""
    prefix = prefix.lower()
    matches = [v for v in all_versions(registry, name) if (v.tags or {}).get(lineage.GIT_SHA, "").startswith(prefix)]
    if not matches:
        raise NotFoundError(f"no version of '{name}' was trained at a commit starting with {prefix}")
    commits = {(v.tags or {})[lineage.GIT_SHA] for v in matches}
    if len(commits) > 1:
        raise UsageError(f"sha:{prefix} is ambiguous: {', '.join(sorted(commits))}", hint="give more characters")
    by_ct = [v for v in matches if (v.tags or {}).get(lineage.KIND) == lineage.KIND_CT]
    if len(by_ct) == 1 or (not by_ct and len(matches) == 1):
        return (by_ct or matches)[0]
    numbers = ", ".join(str(v.version) for v in (by_ct or matches))
    raise UsageError(f"several versions were trained at {prefix}: {numbers}", hint="name one by its version number")


def resolve_version(registry: Registry, name: str, ref: str) -> ModelVersion:
    """Resolve ``ref`` (``@alias``, ``latest``, ``N`` or ``sha:<prefix>``) to a model version."""
    check_name(name, "model name")
    ref = ref.strip()
    if alias := ALIAS.match(ref):
        try:
            return registry.client.get_model_version_by_alias(name, alias.group(1))
        except MlflowException as exc:
            raise NotFoundError(f"model '{name}' has no version with alias @{alias.group(1)}") from exc
    if ref == "latest":
        versions = all_versions(registry, name)
        if not versions:
            raise NotFoundError(f"model '{name}' has no versions yet", hint="train one with `trunkml ct`")
        return versions[-1]
    if ref.isdigit():
        return _by_number(registry, name, int(ref))
    if sha := SHA.match(ref):
        return _by_sha(registry, name, sha.group(1))
    raise UsageError(
        f"bad model ref '{ref}'", hint="use @champion, @challenger, latest, a version number or sha:<git sha>"
    )


def show(registry: Registry, name: str, ref: str) -> ModelVersionRecord:
    """The full lineage record of the version ``ref`` names."""
    return _record(registry, resolve_version(registry, name, ref))


def list_records(registry: Registry, name: str) -> list[ModelVersionRecord]:
    """Lineage records of every version of ``name``, newest first."""
    aliases = _aliases(registry, name)
    return [_record(registry, version, aliases) for version in reversed(all_versions(registry, name))]


def find_by_ct_key(registry: Registry, name: str, ct_key: str) -> list[ModelVersion]:
    """Versions registered by CT for exactly this (commit, job, data) key, oldest first."""
    return [v for v in all_versions(registry, name) if (v.tags or {}).get(lineage.CT_KEY) == ct_key]


def ensure_registered_model(registry: Registry, name: str) -> bool:
    """Create registered model ``name`` if it does not exist; True if this call created it."""
    try:
        registry.client.get_registered_model(name)
        return False
    except MlflowException:
        try:
            registry.client.create_registered_model(name, description="Registered by trunkml")
            return True
        except MlflowException:  # created concurrently
            registry.client.get_registered_model(name)
            return False


def register(
    registry: Registry, name: str, source: str, run_id: str, tags: dict[str, str], model_id: str | None = None
) -> int:
    """Register a new version of ``name`` from ``source`` with lineage ``tags``; alias it ``@challenger``.

    ``model_id`` names the logged model behind a ``models:/m-...`` source; a tracking server refuses
    such a source without it.
    """
    ensure_registered_model(registry, name)
    if model_id is None and source.startswith("models:/m-"):
        model_id = source.removeprefix("models:/").split("/")[0]
    # MLflow's SQL registry looks the logged model up through the module-level tracking URI, not this
    # client's: point it here first, or a process that opened another registry since fails to register.
    registry.activate()
    created = registry.client.create_model_version(name, source, run_id=run_id, tags=tags, model_id=model_id)
    registry.client.set_registered_model_alias(name, CHALLENGER, created.version)
    return int(created.version)


def delete_version(registry: Registry, name: str, version: int) -> None:
    """Remove a version (only used to undo a duplicate registered by a concurrent CT run)."""
    registry.client.delete_model_version(name, str(version))
