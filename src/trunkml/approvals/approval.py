"""Approval records on model versions, and the separation-of-duties rule.

An approval is a tag on the version (``trunkml.approval.<env>.<who>``) holding who, when,
for which environment, and the sha256 of the gate decision it refers to, plus an event
in the model's history. An approval counts only for the decision it was given on, only
if its author is not the commit's author (unless the rule allows it, never in prod), and
only if the approver is on the rule's allow-list when there is one.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from trunkml.config import ApprovalRule
from trunkml.errors import RefusedError, UsageError
from trunkml.registry import ModelVersionRecord, Registry, lineage
from trunkml.registry.events import Event, append

NOREPLY = re.compile(r"^(?:\d+\+)?(?P<login>[^@]+)@users\.noreply\.github\.com$", re.IGNORECASE)


class Approval(BaseModel):
    """One person's sign-off on one version for one environment."""

    model_config = ConfigDict(frozen=True)

    version: int
    env: str
    by: str
    at: str
    comment: str = ""
    decision: str
    """sha256 of the gate decision document the approval was given on."""
    model_digest: str = ""
    """The digest of the model files approved; a version whose files no longer match it does not load."""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-") or "anonymous"


def identities(person: str) -> set[str]:
    """Every form a person may be written in: ``Name <email>``, ``<email>``, email, local part, GitHub login."""
    match = re.match(r"^\s*(?P<name>[^<]*?)\s*<(?P<email>[^>]*)>\s*$", person)
    name, email = (match.group("name"), match.group("email")) if match else ("", person.strip())
    if "@" not in email:
        name, email = name or email, ""
    found = {name.strip().lower(), email.lower(), email.split("@")[0].lower()}
    if noreply := NOREPLY.match(email):
        found.add(noreply.group("login").lower())
    return found - {""}


def identity_key(person: str) -> str:
    """One key per person, so the same approver written two ways counts once."""
    forms = identities(person)
    emails = sorted(form for form in forms if "@" in form)
    return emails[0].split("@")[0] if emails else min(forms, default="")


def is_author(actor: str, author: str | None) -> bool:
    """True if any form of ``actor`` names the commit author (recorded in lineage as ``Name <email>``)."""
    return bool(author) and bool(identities(actor) & identities(author or ""))


def current_decision(record: ModelVersionRecord) -> str | None:
    """sha256 of the version's current gate decision document, if it has one."""
    raw = record.gate.get(lineage.GATE_SUMMARY)
    return str(json.loads(raw).get("record_sha256")) if raw else None


def approve(registry: Registry, record: ModelVersionRecord, by: str, env: str, comment: str) -> Approval:
    """Record ``by``'s approval of ``record`` for ``env`` (on its current gate decision)."""
    if not by.strip():
        raise UsageError("who approves?", hint="pass --by NAME (CI: set TRUNKML_ACTOR or GITHUB_ACTOR)")
    decision = current_decision(record)
    if decision is None:
        raise RefusedError(
            f"{record.ref} has no gate decision to approve",
            hint=f"run `trunkml evaluate --challenger {record.version}` first",
        )
    approval = Approval(
        version=record.version,
        env=env,
        by=by.strip(),
        at=datetime.now(UTC).isoformat(),
        comment=comment,
        decision=decision,
        model_digest=record.model_digest or "",
    )
    key = f"{lineage.APPROVAL_PREFIX}{_slug(env)}.{_slug(by)}"
    registry.client.set_model_version_tag(record.name, str(record.version), key, approval.model_dump_json())
    append(
        registry,
        record.name,
        Event(kind="approve", actor=approval.by, to_version=record.version, env=env, reason=comment, decision=decision),
    )
    return approval


def approvals_of(record: ModelVersionRecord, env: str | None = None) -> list[Approval]:
    """The approvals recorded on a version (for ``env`` only, when given)."""
    found = [Approval.model_validate(item) for item in record.approvals]
    return [a for a in found if env is None or a.env == env]


def counted(
    record: ModelVersionRecord, rule: ApprovalRule, env: str, decision: str | None
) -> tuple[list[Approval], list[tuple[Approval, str]]]:
    """(approvals that count, [(approval, why it does not)]) under ``rule`` for ``env``.

    ``decision`` None accepts approvals given on any decision (rollback to a former champion).
    """
    valid: list[Approval] = []
    ignored: list[tuple[Approval, str]] = []
    people: set[str] = set()
    for approval in approvals_of(record, env):
        if identity_key(approval.by) in people:
            ignored.append((approval, "the same person already approved"))
        elif decision is not None and approval.decision != decision:
            ignored.append((approval, "given on an earlier gate decision"))
        elif not rule.allow_author and is_author(approval.by, record.git_author):
            ignored.append((approval, f"{approval.by} is the commit's author"))
        elif rule.approvers is not None and not any(identities(approval.by) & identities(a) for a in rule.approvers):
            ignored.append((approval, f"{approval.by} is not on the approvers list"))
        else:
            valid.append(approval)
            people.add(identity_key(approval.by))
    return valid, ignored
