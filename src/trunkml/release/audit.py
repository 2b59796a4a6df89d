"""``trunkml audit``: walk a model's history chain and check that the aliases, the approvals and the decisions agree.

The audit flags:

* a **missing** or **edited** event, and a fork (``registry.events.verify_chain``);
* an **alias that disagrees with the chain**: ``@champion`` moved outside trunkml;
* an **approval that does not verify**: a bare or forged tag, a key that is not an allowed signer,
  an approver who wrote the change (from git, when the commits are in this checkout), an approval
  whose tag changed after the history recorded it;
* a champion whose promotion chain does not verify (``approvals.chain``).

``audit_version`` also replays the version's gate decision (``evaluation.replay``). ``repair`` moves
``@champion`` back to the last champion whose promotion chain verifies, as a ``repair`` event.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from trunkml.approvals.approval import judge, sha256_text, stored
from trunkml.approvals.chain import Trust, champion_moves, champion_problems
from trunkml.config import Settings, resolve_model
from trunkml.errors import NotFoundError, RefusedError, TrunkmlError
from trunkml.evaluation.evaluate import Report
from trunkml.evaluation.replay import Replay, replay_decision
from trunkml.registry import CHAMPION, ModelVersionRecord, Registry, show
from trunkml.registry.aliases import current
from trunkml.registry.events import Event, chain, legacy_events, verify_chain
from trunkml.registry.lease import promotion_lease
from trunkml.release.promotion import MoveResult, _move, change_authors, settle


class Finding(BaseModel):
    """One thing the audit found wrong."""

    model_config = ConfigDict(frozen=True)

    kind: str
    """chain, alias, approval or decision."""
    message: str


class AuditReport(BaseModel):
    """What ``trunkml audit`` found for one model in one environment."""

    model_config = ConfigDict(frozen=True)

    model: str
    env: str
    events: int
    champion: int | None
    verified_champion: int | None
    """The last champion whose promotion chain verifies (what ``--repair`` restores)."""
    legacy_events: int = 0
    """Events written before the history was a chain (not checked)."""
    findings: list[Finding]
    replay: Replay | None = None

    @property
    def ok(self) -> bool:
        return not self.findings and (self.replay is None or (self.replay.identical and self.replay.document_intact))


def _approval_findings(
    settings: Settings, registry: Registry, trust: Trust, record: ModelVersionRecord, move: Event
) -> list[Finding]:
    found: list[Finding] = []
    try:
        authors = change_authors(settings, registry, record, move.from_version)
    except TrunkmlError as exc:
        authors = ()
        found.append(Finding(kind="approval", message=f"v{record.version}: authors not checked: {exc.message}"))
    decision = move.decision if move.kind == "promote" else None
    for verdict in judge(record, trust.rule(move.env), move.env, decision, trust.signers, trust.attestors, authors):
        if not verdict.counts:
            found.append(Finding(kind="approval", message=f"v{record.version} {verdict.key}: {verdict.reason}"))
    return found


def _recorded_approvals(record: ModelVersionRecord, events: list[Event], env: str) -> list[Finding]:
    """This environment's approval tags whose content is not what the history recorded when they were given.

    Approvals for other environments (carried over with a cross-environment copy) are evidence from
    another registry, whose own history records them.
    """
    recorded = {e.statement for e in events if e.kind == "approve" and e.to_version == record.version}
    found: list[Finding] = []
    for key, approval, _ in stored(record):
        if approval is None or approval.env != env:
            continue
        if sha256_text(record.raw_tags[key]) not in recorded:
            why = "changed after it was recorded" if recorded else "has no event in the history"
            found.append(Finding(kind="approval", message=f"v{record.version} {key} {why}"))
    return found


def _verified(registry: Registry, record: ModelVersionRecord, env: str, trust: Trust, events: list[Event]) -> bool:
    return not champion_problems(registry, record, env, trust, events)


def audit(settings: Settings, model: str | None = None) -> AuditReport:
    """Walk ``model``'s history chain in this environment and check it against the aliases and approvals."""
    name, env = resolve_model(settings, model), settings.env.value
    registry = Registry(settings)
    trust = Trust.of(settings)
    events = chain(registry, name)
    findings = [Finding(kind="chain", message=problem) for problem in verify_chain(events)]
    champion = current(registry, name, CHAMPION)
    moves = champion_moves(events)
    if champion is not None and (not moves or moves[-1].to_version != champion):
        named = f"v{moves[-1].to_version}" if moves else "no version"
        findings.append(
            Finding(kind="alias", message=f"@champion points at v{champion}, but the chain's last move names {named}")
        )
    checked: set[int] = set()
    verified: int | None = None
    for move in reversed(moves):
        version = int(move.to_version or 0)
        try:
            record = show(registry, name, str(version))
        except NotFoundError:
            findings.append(Finding(kind="alias", message=f"v{version}, a champion in the history, no longer exists"))
            continue
        if version not in checked:
            checked.add(version)
            findings += _recorded_approvals(record, events, env)
            if move.kind == "promote" and trust.protected(move.env):
                findings += _approval_findings(settings, registry, trust, record, move)
        prefix = events[: events.index(move) + 1]
        if verified is None and (not trust.protected(env) or _verified(registry, record, env, trust, prefix)):
            verified = version
    return AuditReport(
        model=name,
        env=env,
        events=len(events),
        champion=champion,
        verified_champion=verified,
        findings=findings,
        legacy_events=legacy_events(events),
    )


def audit_version(settings: Settings, ref: str, report: Report, model: str | None = None) -> AuditReport:
    """The model's audit plus a replay of ``ref``'s gate decision."""
    found = audit(settings, model)
    registry = Registry(settings)
    record = show(registry, found.model, ref)
    replay = replay_decision(settings, registry, record, report)
    extra: list[Finding] = []
    if not replay.document_intact:
        extra.append(Finding(kind="decision", message=f"v{record.version}'s stored decision document was altered"))
    if not replay.identical:
        extra.append(
            Finding(kind="decision", message=f"v{record.version}'s decision does not replay: {replay.differences[:3]}")
        )
    return found.model_copy(update={"replay": replay, "findings": found.findings + extra})


def repair(settings: Settings, actor: str, model: str | None = None) -> MoveResult:
    """Move ``@champion`` back to the last champion whose promotion chain verifies (a ``repair`` event)."""
    report = audit(settings, model)
    target = report.verified_champion
    if target is None:
        raise RefusedError(f"{report.model} has no champion whose promotion chain verifies to return to")
    if report.champion == target:
        raise RefusedError(f"@champion already points at v{target}, the last verified champion: nothing to repair")
    registry = Registry(settings)
    with promotion_lease(registry, report.model) as lease:
        settle(registry, report.model, lease)
        champion = current(registry, report.model, CHAMPION)
        reason = f"audit repair: @champion was v{champion}, which the chain does not verify"
        return _move(registry, report.model, report.env, target, champion, "repair", actor, reason, "", [], lease)
