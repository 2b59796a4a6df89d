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

import json
from dataclasses import dataclass

from trunkml.approvals.approval import counted, current_decision
from trunkml.approvals.signers import AllowedSigners
from trunkml.config import ApprovalRule, Settings, load_project
from trunkml.registry import ModelVersionRecord, lineage
from trunkml.registry.events import FAILED, Event, verify_chain

CHAMPION = "champion"
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


def _decision_says_promote(record: ModelVersionRecord) -> bool:
    raw = record.gate.get(lineage.GATE_SUMMARY)
    return bool(raw) and json.loads(raw or "{}").get("decision") == "promote"


def _move_problem(record: ModelVersionRecord, events: list[Event]) -> tuple[str, str | None]:
    """(why the chain does not put ``record`` at @champion, the decision digest its approvals must bind)."""
    moves = champion_moves(events)
    last = moves[-1] if moves else None
    if last is None or last.to_version != record.version:
        named = f"v{last.to_version}" if last else "no version"
        return f"@champion was moved to v{record.version} outside trunkml: the history's last move names {named}", None
    promoted = [e for e in events if e.kind == "promote" and e.to_version == record.version and e.status != FAILED]
    if last.kind == "promote":
        if current_decision(record) != last.decision or not _decision_says_promote(record):
            return f"v{record.version}'s gate decision is not the PROMOTE decision it was promoted on", None
        return "", last.decision
    if last.kind in RETURNS and promoted:
        return "", None
    return f"v{record.version} reached @champion by '{last.kind}', never by a verified promotion", None


def champion_problems(record: ModelVersionRecord, env: str, trust: Trust, events: list[Event]) -> list[str]:
    """Why ``record`` may not serve as ``env``'s champion (empty: its promotion chain verifies)."""
    problems = [f"history: {p}" for p in verify_chain(events)[:3]]
    moved, decision = _move_problem(record, events)
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
