"""Promotion across environments whose registries differ: copy the version, then apply the target's policy.

``promote_across`` verifies the version's stored artifacts and its PROMOTE gate decision (on the
current eval pointer) in the source registry, copies the model files, lineage, artifact digests,
gate decision and approvals into the target registry as a new version (or finds the copy it
made before: the copy is idempotent), verifies the copy, and then moves the target's
``@champion`` only if the target environment's approval rule is met.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from trunkml.approvals.records import counted
from trunkml.config import Environment, Settings, load_project
from trunkml.errors import RefusedError, UsageError
from trunkml.pipelines.promotion import MoveResult, _move, resolve_model
from trunkml.registry import CHAMPION, ModelVersionRecord, Registry, lineage, show
from trunkml.registry.aliases import alias_lock, current
from trunkml.registry.artifacts import copy_version, verify_model_files

COPIED_FROM = "trunkml.copied_from"


def settings_for(settings: Settings, env: str) -> Settings:
    """Settings of environment ``env`` (its registry from trunkml.yaml, if it names one)."""
    try:
        chosen = Environment(env)
    except ValueError as exc:
        raise UsageError(f"unknown environment '{env}'", hint="use dev, test or prod") from exc
    project = load_project(settings.project_root)
    config = project.environments.get(env)
    return settings.for_environment(chosen, config.tracking_uri if config else None)


def _source_checks(record: ModelVersionRecord) -> str:
    raw = record.gate.get(lineage.GATE_SUMMARY)
    if raw is None or '"decision":"promote"' not in raw.replace(" ", ""):
        raise RefusedError(
            f"{record.ref} has no PROMOTE gate decision in the source registry",
            hint=f"run `trunkml evaluate --challenger {record.version}` there first",
        )
    return raw


def promote_across(
    settings: Settings,
    ref: str,
    source_env: str,
    target_env: str,
    actor: str,
    reason: str = "",
    model: str | None = None,
) -> MoveResult:
    """Copy ``ref`` from ``source_env``'s registry to ``target_env``'s and promote it there if allowed."""
    name = resolve_model(settings, model)
    if source_env == target_env:
        raise UsageError("--from and --to name the same environment")
    source, target = settings_for(settings, source_env), settings_for(settings, target_env)
    source_registry, target_registry = Registry(source), Registry(target)
    record = show(source_registry, name, ref)
    _source_checks(record)
    with tempfile.TemporaryDirectory(prefix="trunkml-copy-") as scratch:
        local, digest = verify_model_files(source_registry, name, record.version, Path(scratch))
        copied = copy_version(target_registry, name, local, record, f"{source_env}:{record.version}:{digest}")
    target_record = show(target_registry, name, str(copied))
    rule = load_project(settings.project_root).approval_rule(target_env)
    valid, ignored = counted(target_record, rule, target_env, None)
    with alias_lock(target_registry, name):
        champion = current(target_registry, name, CHAMPION)
        if champion == copied:
            raise RefusedError(f"{name} v{copied} is already the champion in '{target_env}'")
        if len(valid) < rule.required:
            why = "; ".join(f"{a.by}: {reason}" for a, reason in ignored)
            raise RefusedError(
                f"copied {name} v{record.version} from '{source_env}' to '{target_env}' as v{copied}, but "
                f"'{target_env}' needs {rule.required} approval(s) and has {len(valid)}"
                + (f" (not counted: {why})" if why else ""),
                hint=f"run `trunkml approve {copied} --env {target_env} --by NAME` against the {target_env} registry, "
                "then promote again",
            )
        with tempfile.TemporaryDirectory(prefix="trunkml-verify-") as scratch:
            verify_model_files(target_registry, name, copied, Path(scratch))
        notes = [f"copied from '{source_env}' v{record.version} ({source.tracking_uri}) to '{target_env}' v{copied}"]
        return _move(
            target_registry,
            name,
            target_env,
            copied,
            champion,
            "promote",
            actor,
            reason or f"from {source_env} v{record.version}",
            "",
            notes,
        )
