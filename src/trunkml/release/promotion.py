"""Promotion, rollback and status: moving @champion only when every check holds, and saying why.

``promote`` moves ``@champion`` to a version only if (a) its gate decision says promote and
still applies (current eval pointer, current champion, current policy, intact document),
(b) the environment's signed approvals verify (see ``approvals.approval``), none by any author or
committer of the commits since the champion that touched the job (read from git), and (c) its
stored artifacts still match the digests recorded at registration. Otherwise it changes
nothing and lists every reason. The old champion keeps ``@previous``; each move is an
event in the registry-backed, hash-chained history, written as an intent before the aliases move
and settled after (see ``registry.events``), so a promotion cut off half-way either took effect or
did not, and the history agrees with @champion either way. Moves of one model are serialised across
machines by a lease the registry's database decides (``registry.lease``), and every alias write is
retried and confirmed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict

from trunkml.approvals.approval import counted, current_decision
from trunkml.approvals.authors import authors_since
from trunkml.approvals.chain import Trust, champion_moves, champion_problems
from trunkml.config import Settings, load_project, resolve_model
from trunkml.datasets import DataService
from trunkml.datasets.pointer import DatasetRef
from trunkml.errors import IntegrityError, RefusedError, TrunkmlError, UnavailableError, UsageError
from trunkml.evaluation.decision import DecisionSummary, require_promotable_decision, summary
from trunkml.evaluation.policy import load_policy
from trunkml.registry import CHALLENGER, CHAMPION, ModelVersionRecord, Registry, show
from trunkml.registry.aliases import current, move_alias
from trunkml.registry.artifacts import verify_model_files
from trunkml.registry.events import Event, begin, chain, finish, history, pending
from trunkml.registry.lease import Lease, promotion_lease
from trunkml.release.blessing_policy import blessing_problem

PREVIOUS = "previous"


class MoveResult(BaseModel):
    """An alias move that happened."""

    model_config = ConfigDict(frozen=True)

    model: str
    env: str
    version: int
    previous: int | None
    event: Event
    notes: list[str]


class EnvironmentStatus(BaseModel):
    """What `trunkml status` shows for one environment."""

    model_config = ConfigDict(frozen=True)

    model: str
    env: str
    tracking_uri: str
    champion: ModelVersionRecord | None
    challenger: ModelVersionRecord | None
    decision: dict[str, object] | None
    approvals: int
    approvals_required: int
    events: list[Event]
    champion_unverified: list[str] = []
    """Why the champion's promotion chain does not verify (an out-of-band alias move, say); empty when it does."""


def _artifacts_intact(registry: Registry, record: ModelVersionRecord) -> None:
    with tempfile.TemporaryDirectory(prefix="trunkml-verify-") as scratch:
        verify_model_files(registry, record.name, record.version, Path(scratch))


def promotable_decision(
    settings: Settings, registry: Registry, record: ModelVersionRecord, champion: int | None
) -> DecisionSummary:
    """``record``'s PROMOTE decision if it still applies against ``champion``, the current eval pointer and
    policy; otherwise the :class:`TrunkmlError` that says why not."""
    project = load_project(settings.project_root)
    if not project.gate.eval:
        raise UsageError("no gate.eval in trunkml.yaml: the decision cannot be checked against the eval pointer")
    service = DataService(settings)
    task = service.catalog.get(DatasetRef.parse(project.gate.eval)).task
    return require_promotable_decision(
        registry, record, service, project.gate.eval, champion, load_policy(settings.project_root, task).digest
    )


class Shortfall(NamedTuple):
    """Approvals an environment's rule still lacks."""

    have: int
    need: int
    not_counted: str
    """Approvals given that do not count, and why ("" if none)."""

    def describe(self, env: str) -> str:
        return f"{self.have} of {self.need} needed for '{env}'" + self.not_counted


def approval_shortfall(
    settings: Settings, record: ModelVersionRecord, env: str, decision: str | None, authors: tuple[str, ...] = ()
) -> Shortfall | None:
    """What ``env``'s approval rule still lacks for ``record``, or None when it is met.

    Only signed approvals that verify count; ``authors`` are the change's authors as git shows them.
    """
    trust = Trust.of(settings)
    rule = trust.rule(env)
    valid, ignored = counted(record, rule, env, decision, trust.signers, trust.attestors, authors)
    if len(valid) >= rule.required:
        return None
    why = "; ".join(f"{v.approver}: {v.reason}" for v in ignored)
    return Shortfall(len(valid), rule.required, f" (not counted: {why})" if why else "")


PLATFORM_COMMITTERS = ("<noreply@github.com>",)
"""Committers that are the platform itself (GitHub's web merges), not people."""


def unknown_authors(settings: Settings, authors: tuple[str, ...]) -> list[str]:
    """With ``signers.require_known_authors``: the authors that are nobody in the allowed-signers file."""
    project = load_project(settings.project_root)
    if not project.signers.require_known_authors:
        return []
    trust = Trust.of(settings)
    unknown = [a for a in authors if trust.signers.person(a) is None and not a.endswith(PLATFORM_COMMITTERS)]
    if not unknown:
        return []
    return [
        f"authors: {', '.join(unknown)} wrote part of the change but are not in {trust.signers.path.name}, so "
        "nobody can tell whether they approved it (signers.require_known_authors)"
    ]


def change_authors(
    settings: Settings, registry: Registry, record: ModelVersionRecord, champion: int | None
) -> tuple[str, ...]:
    """Every author and committer since ``champion`` of ``record``'s job (see ``approvals.authors``)."""
    before = show(registry, record.name, str(champion)) if champion is not None else None
    return authors_since(settings, record, before).people


def _checks(
    settings: Settings, registry: Registry, record: ModelVersionRecord, env: str, champion: int | None
) -> tuple[list[str], str]:
    """Every reason the version may not be promoted now (empty: go), and the decision id."""
    problems: list[str] = []
    decision = current_decision(record) or ""
    if champion == record.version:
        problems.append(f"{record.ref} is already the champion")
    try:
        promotable_decision(settings, registry, record, champion)
    except TrunkmlError as exc:
        problems.append(f"gate: {exc}")
    unblessed = blessing_problem(settings, record)
    if unblessed:
        problems.append(unblessed)
    authors: tuple[str, ...] = ()
    if load_project(settings.project_root).approval_rule(env).required > 0:
        try:
            authors = change_authors(settings, registry, record, champion)
        except TrunkmlError as exc:
            problems.append(f"authors: {exc.message}; {exc.hint or ''}".rstrip("; "))
        problems += unknown_authors(settings, authors)
    missing = approval_shortfall(settings, record, env, decision or None, authors)
    if missing:
        problems.append(
            f"approvals: {missing.describe(env)}; run `trunkml approve {record.version} --env {env} --key KEY`"
        )
    try:
        _artifacts_intact(registry, record)
    except IntegrityError as exc:  # an unreachable store is not a refusal: it propagates (exit 3)
        problems.append(f"artifacts: {exc.message}")
    return problems, decision


def settle(registry: Registry, model: str, lease: Lease) -> None:
    """Settle moves of ``model`` that were cut off half-way, so the history says what @champion says.

    One that took effect is finished (and @previous set to where it came from); any other is marked
    failed. Called under the model's lease before every move; only intents written under an earlier
    lease generation are touched, so a live holder's intent is never settled by anyone else.
    """
    for event, happened in pending(registry, model, lease):
        if happened and event.from_version is not None:
            move_alias(registry, model, PREVIOUS, event.from_version)
        finish(registry, event, happened)


def _move(
    registry: Registry,
    model: str,
    env: str,
    version: int,
    champion: int | None,
    kind: str,
    actor: str,
    reason: str,
    decision: str,
    notes: list[str],
    lease: Lease,
) -> MoveResult:
    intent = begin(
        registry,
        model,
        Event(
            kind=kind,
            actor=actor,
            from_version=champion,
            to_version=version,
            alias=CHAMPION,
            env=env,
            reason=reason,
            decision=decision,
        ),
        lease,
    )
    try:
        lease.ensure()
        move_alias(registry, model, CHAMPION, version)
        if champion is not None:
            move_alias(registry, model, PREVIOUS, champion)
        finish(registry, intent)
    except TrunkmlError as exc:
        raise UnavailableError(
            f"the registry stopped answering while moving @{CHAMPION} of {model} to version {version}: {exc.message}",
            hint="the move either took effect or did not, and the history says which: check `trunkml status` once "
            "the registry answers again (the next promote or rollback records the outcome)",
        ) from exc
    return MoveResult(model=model, env=env, version=version, previous=champion, event=intent, notes=notes)


def move_champion(
    settings: Settings, version: int, actor: str, reason: str, kind: str = "move", model: str | None = None
) -> MoveResult:
    """Move ``@champion`` to ``version`` under the model's lock, with no checks (operators and tests only)."""
    name = resolve_model(settings, model)
    registry = Registry(settings)
    with promotion_lease(registry, name) as lease:
        settle(registry, name, lease)
        champion = current(registry, name, CHAMPION)
        return _move(registry, name, settings.env.value, version, champion, kind, actor, reason, "", [], lease)


def promote(settings: Settings, ref: str, actor: str, reason: str = "", model: str | None = None) -> MoveResult:
    """Move ``@champion`` to ``ref`` if the gate, the approvals and the artifacts all allow it."""
    name, env = resolve_model(settings, model), settings.env.value
    if not actor.strip():
        raise UsageError("who promotes?", hint="pass --by NAME (CI: TRUNKML_ACTOR or GITHUB_ACTOR)")
    registry = Registry(settings)
    record = show(registry, name, ref)
    with promotion_lease(registry, name) as lease:
        settle(registry, name, lease)
        champion = current(registry, name, CHAMPION)
        problems, decision = _checks(settings, registry, record, env, champion)
        if problems:
            raise RefusedError(
                f"promotion of {record.ref} to @{CHAMPION} in '{env}' refused:\n  - " + "\n  - ".join(problems),
                hint="nothing was changed",
            )
        return _move(registry, name, env, record.version, champion, "promote", actor, reason, decision, [], lease)


def _previous_champion(events: list[Event], champion: int | None) -> int | None:
    for event in reversed(events):
        if event.kind in {"promote", "rollback"} and event.to_version == champion:
            return event.from_version
    return None


def rollback(
    settings: Settings, actor: str, to: str | None = None, reason: str = "", model: str | None = None
) -> MoveResult:
    """Return ``@champion`` to the previous champion (from history) or to ``to``, a former champion; no fresh gate."""
    name, env = resolve_model(settings, model), settings.env.value
    if not actor.strip():
        raise UsageError("who rolls back?", hint="pass --by NAME (CI: TRUNKML_ACTOR or GITHUB_ACTOR)")
    registry = Registry(settings)
    with promotion_lease(registry, name) as lease:
        settle(registry, name, lease)
        champion = current(registry, name, CHAMPION)
        if champion is None:
            raise RefusedError(f"{name} has no champion to roll back", hint="promote one with `trunkml promote`")
        events = history(registry, name)
        target = show(registry, name, to).version if to else _previous_champion(events, champion)
        if target is None:
            raise RefusedError(f"no previous champion of {name} in the history", hint="name one with --to REF")
        if target == champion:
            raise RefusedError(f"version {target} is already the champion")
        former = {e.to_version for e in events if e.kind in {"promote", "rollback"}}
        if target not in former:
            raise RefusedError(
                f"version {target} was never the champion: a rollback only returns to a former one",
                hint=f"use `trunkml promote {target}`, which runs the gate and approval checks",
            )
        record = show(registry, name, str(target))
        trust = Trust.of(settings)
        rule = trust.rule(env)
        promoted = [e.decision for e in events if e.kind == "promote" and e.to_version == target]
        decision = promoted[-1] if promoted else current_decision(record) or ""
        valid, _ = counted(record, rule, env, decision, trust.signers, trust.attestors)
        notes = [
            f"rollback needs no fresh gate; the '{env}' approval rule needs {rule.required} approval(s) of "
            f"v{target} and it has {len(valid)}"
        ]
        if len(valid) < rule.required:
            raise RefusedError(notes[0], hint=f"run `trunkml approve {target} --env {env} --key KEY` first")
        _artifacts_intact(registry, record)
        return _move(
            registry,
            name,
            env,
            target,
            champion,
            "rollback",
            actor,
            reason or "rollback",
            decision,
            notes,
            lease,
        )


def status(settings: Settings, model: str | None = None, last: int = 10) -> EnvironmentStatus:
    """Champion, challenger, the challenger's pending decision and approvals, and the last events."""
    name, env = resolve_model(settings, model), settings.env.value
    registry = Registry(settings)
    versions = {alias: current(registry, name, alias) for alias in (CHAMPION, CHALLENGER)}
    records = {alias: show(registry, name, str(v)) if v else None for alias, v in versions.items()}
    challenger = records[CHALLENGER]
    found = summary(challenger) if challenger else None
    trust = Trust.of(settings)
    rule = trust.rule(env)
    approvals = (
        counted(challenger, rule, env, current_decision(challenger), trust.signers, trust.attestors)[0]
        if challenger
        else []
    )
    champion = records[CHAMPION]
    events = chain(registry, name)
    unverified = _champion_unverified(registry, champion, env, trust, events)
    return EnvironmentStatus(
        model=name,
        env=env,
        tracking_uri=registry.uri,
        champion=records[CHAMPION],
        challenger=challenger,
        decision=found.model_dump() if found else None,
        approvals=len(approvals),
        approvals_required=rule.required,
        events=history(registry, name)[-last:],
        champion_unverified=unverified,
    )


def _champion_unverified(
    registry: Registry, champion: ModelVersionRecord | None, env: str, trust: Trust, events: list[Event]
) -> list[str]:
    if champion is None:
        return [f"@champion was moved outside trunkml (history: v{m.to_version})" for m in champion_moves(events)[-1:]]
    if not trust.protected(env):
        moves = champion_moves(events)
        moved = not moves or moves[-1].to_version != champion.version
        return [f"@champion (v{champion.version}) was moved outside trunkml"] if moved else []
    return champion_problems(registry, champion, env, trust, events)


__all__ = ["EnvironmentStatus", "MoveResult", "move_champion", "promote", "rollback", "status"]
