"""Whether a version's promotion chain verifies: the check behind a protected ``@champion``.

A version may serve as champion in an environment that requires approvals only when:

* the model's history chain is intact (``registry.events.verify_chain``);
* the chain's last move of ``@champion`` names this version (an alias moved with
  ``MlflowClient().set_registered_model_alias`` outside trunkml leaves no such event);
* that move was a promotion on a PROMOTE gate decision (whose digest the event records), or a
  rollback or repair to a version that was once promoted that way;
* the environment's rule has enough signed approvals that verify (``approvals.approval``).

The server asks this before swapping a champion in; ``trunkml status`` and ``trunkml audit`` ask it too.
"""

from __future__ import annotations

from dataclasses import dataclass

from trunkml.approvals.approval import counted, current_decision
from trunkml.approvals.signers import AllowedSigners
from trunkml.config import ApprovalRule, Settings, load_project
from trunkml.registry import ModelVersionRecord, Registry
from trunkml.registry.artifacts import find_decision
from trunkml.registry.events import FAILED, Event, verify_chain

CHAMPION = "champion"
COPIED_FROM = "trunkml.copied_from"
RETURNS = {"rollback", "repair"}


@dataclass(frozen=True)
class Trust:
    """What approvals are verified against: the allowed signers, the attestors, each environment's rule."""

    signers: AllowedSigners
    attestors: tuple[str, ...]
    settings: Settings

    @classmethod
    def of(cls, settings: Settings) -> Trust:
        project = load_project(settings.project_root)
        path = project.signers_path(settings.project_root)
        return cls(AllowedSigners.load(path), project.signers.attestors, settings)

    def rule(self, env: str) -> ApprovalRule:
        return load_project(self.settings.project_root).approval_rule(env)

    def protected(self, env: str) -> bool:
        """True where the environment requires approvals, so its champion must verify."""
        return self.rule(env).required > 0


def champion_moves(events: list[Event]) -> list[Event]:
    """The moves of ``@champion`` in the chain that were not settled as failed, in chain order."""
    return [e for e in events if e.alias == CHAMPION and e.to_version is not None and e.status != FAILED]


def _promoted_on(registry: Registry, record: ModelVersionRecord, event: Event) -> str:
    """Why ``event`` is not a promotion of ``record`` on a PROMOTE decision made against the champion it
    replaced ("" when it is). The decision is found in the version's run by the digest the event records,
    so an edited document or an invented digest finds nothing."""
    document = find_decision(registry, record.run_id, event.decision) if record.run_id and event.decision else None
    if document is None:
        return f"the decision v{record.version} was promoted on is not in its run (or was altered)"
    decision = document.get("decision")
    if not isinstance(decision, dict) or decision.get("promote") is not True:
        return f"v{record.version} was promoted on a decision that is not PROMOTE"
    copied = COPIED_FROM in record.raw_tags  # a copy's decision names the source registry's versions
    if not copied and document.get("champion") != event.from_version:
        return (
            f"v{record.version}'s decision was made against v{document.get('champion')}, but its promotion "
            f"replaced v{event.from_version}"
        )
    return ""


def _move_problem(registry: Registry, record: ModelVersionRecord, events: list[Event]) -> tuple[str, str | None]:
    """(why the chain does not put ``record`` at @champion, the decision digest its approvals must bind)."""
    moves = champion_moves(events)
    last = moves[-1] if moves else None
    if last is None or last.to_version != record.version:
        named = f"v{last.to_version}" if last else "no version"
        return f"@champion was moved to v{record.version} outside trunkml: the history's last move names {named}", None
    if last.kind == "promote":
        return _promoted_on(registry, record, last), last.decision
    if last.kind in RETURNS:
        promotions = [e for e in moves if e.kind == "promote" and e.to_version == record.version]
        verified = [e for e in promotions if not _promoted_on(registry, record, e)]
        if verified:
            return "", verified[-1].decision
        return (
            f"v{record.version} returned to @champion by '{last.kind}', but was never promoted on a verified decision",
            None,
        )
    return f"v{record.version} reached @champion by '{last.kind}', never by a verified promotion", None


def challenger_problems(registry: Registry, record: ModelVersionRecord) -> list[str]:
    """Why ``record`` may not answer canary traffic where approvals are required: it needs a PROMOTE decision."""
    digest = current_decision(record)
    document = find_decision(registry, record.run_id, digest) if record.run_id and digest else None
    decision = document.get("decision") if document else None
    if not isinstance(decision, dict) or decision.get("promote") is not True:
        return [f"v{record.version} has no intact PROMOTE gate decision: it may not answer canary traffic here"]
    return []


def champion_problems(
    registry: Registry, record: ModelVersionRecord, env: str, trust: Trust, events: list[Event]
) -> list[str]:
    """Why ``record`` may not serve as ``env``'s champion (empty: its promotion chain verifies)."""
    problems = [f"history: {p}" for p in verify_chain(events)[:3]]
    moved, decision = _move_problem(registry, record, events)
    if moved:
        problems.append(moved)
    rule = trust.rule(env)
    valid, ignored = counted(record, rule, env, decision, trust.signers, trust.attestors)
    if len(valid) < rule.required:
        why = "; ".join(f"{v.approver}: {v.reason}" for v in ignored[:3])
        problems.append(
            f"{len(valid)} of {rule.required} verified approval(s) for '{env}'" + (f" ({why})" if why else "")
        )
    return problems
