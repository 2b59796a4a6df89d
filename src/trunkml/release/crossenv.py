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

from trunkml.config import Settings, resolve_model, settings_for
from trunkml.errors import AlreadyChampion, NotFoundError, RefusedError, UsageError, WaitingForApproval
from trunkml.registry import CHAMPION, ModelVersionRecord, Registry, show
from trunkml.registry.aliases import current
from trunkml.registry.artifacts import copy_version, download_evidence, verify_model_files
from trunkml.registry.events import history
from trunkml.registry.lease import promotion_lease
from trunkml.registry.profiles import load_profile_text
from trunkml.release.blessing_policy import blessing_problem
from trunkml.release.promotion import (
    MoveResult,
    _move,
    approval_shortfall,
    change_authors,
    promotable_decision,
    settle,
)

COPIED_FROM = "trunkml.copied_from"


def source_profile(registry: Registry, name: str, version: int) -> str | None:
    """The version's verified reference profile, or None for a version registered without one."""
    try:
        return load_profile_text(registry, name, version)
    except NotFoundError:
        return None


def _source_checks(source: Settings, registry: Registry, record: ModelVersionRecord) -> str:
    """The same gate check plain promotion makes, in the source registry; returns the decision id."""
    return promotable_decision(source, registry, record, _compared_champion(registry, record)).record_sha256


def _compared_champion(registry: Registry, record: ModelVersionRecord) -> int | None:
    """The champion ``record``'s decision must have been made against: the current one, or, when ``record`` is
    the source's champion already, the one its promotion there replaced."""
    champion = current(registry, record.name, CHAMPION)
    if champion != record.version:
        return champion
    promoted = [e for e in history(registry, record.name) if e.kind == "promote" and e.to_version == record.version]
    return promoted[-1].from_version if promoted else champion


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
    decision = _source_checks(source, source_registry, record)
    unblessed = blessing_problem(target, record)
    if unblessed:
        raise RefusedError(f"{record.ref} in '{source_env}' may not go to '{target_env}': {unblessed}")
    with (
        tempfile.TemporaryDirectory(prefix="trunkml-copy-") as scratch,
        tempfile.TemporaryDirectory(prefix="trunkml-evidence-") as papers,
    ):
        local, digest = verify_model_files(source_registry, name, record.version, Path(scratch))
        profile = source_profile(source_registry, name, record.version)
        origin = f"{source_env}:{record.version}:{digest}"
        evidence = download_evidence(source_registry, record.run_id, Path(papers)) if record.run_id else None
        copied = copy_version(target_registry, name, local, record, origin, profile, evidence)
    target_record = show(target_registry, name, str(copied))
    with promotion_lease(target_registry, name) as lease:
        settle(target_registry, name, lease)
        champion = current(target_registry, name, CHAMPION)
        if champion == copied:
            raise AlreadyChampion(f"{name} v{copied} is already the champion in '{target_env}'")
        authors = change_authors(settings, target_registry, target_record, champion)
        missing = approval_shortfall(settings, target_record, target_env, decision, authors)
        if missing:
            raise WaitingForApproval(
                f"copied {name} v{record.version} from '{source_env}' to '{target_env}' as v{copied}, but "
                f"'{target_env}' needs {missing.need} approval(s) and has {missing.have}{missing.not_counted}",
                hint=f"run `trunkml approve {copied} --env {target_env} --key KEY` against the {target_env} registry, "
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
            decision,
            notes,
            lease,
        )
