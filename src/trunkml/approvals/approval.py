"""Signed approvals: a person's statement over a version's evidence, and the rule that decides which count.

An approval is a :class:`Statement` over {model, version, the artifact digest manifest, the gate
decision's digest, the infra validation's digest, the environment, the approver, the authors they
were shown, the time}, signed with the approver's SSH key (see ``approvals.sshsig``) and stored as
a version tag (``trunkml.approval.<env>.<identity>``) plus an event in the model's history.

The tag is only a carrier. An approval counts only if its signature verifies against a key of the
project's allowed-signers file (``approvals.signers``) whose person is the approver, its statement
binds this version's current files, decision and infra validation, the approver is none of the
authors (neither those the statement lists nor those git shows at promotion), and the rule's
allow-list (when there is one) names them. A forged or edited tag counts for nothing.

In GitHub Actions, the environment's reviewer approves in GitHub's UI, not with their key. model-cd
then reads the reviewer from the run's approval record (GitHub's REST API) and signs a statement
``via: github-environment`` with the environment's own key, whose signer the project lists among its
``attestors``; see ``approvals.github``.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from trunkml.approvals.signers import AllowedSigners
from trunkml.approvals.sshsig import NAMESPACE, verify
from trunkml.config import ApprovalRule
from trunkml.errors import IntegrityError, RefusedError
from trunkml.registry import ModelVersionRecord, Registry, lineage
from trunkml.registry.blessing import SUMMARY_TAG as INFRA_TAG
from trunkml.registry.events import Event, append
from trunkml.registry.signing import manifest

Via = Literal["ssh", "github-environment"]


class Statement(BaseModel):
    """What an approver signs: exactly which evidence they approved, where, and who wrote the change."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["trunkml.approval/v1"] = "trunkml.approval/v1"
    model: str
    version: int
    env: str
    model_digest: str
    manifest_sha256: str
    decision_sha256: str
    infra_sha256: str
    approver: str
    authors: tuple[str, ...]
    via: Via = "ssh"
    evidence: str = ""
    """For ``github-environment``: the run's approval record the approver was read from."""
    at: str
    comment: str = ""

    def message(self) -> bytes:
        """The signed bytes: canonical JSON of the statement."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":")).encode()


class Approval(BaseModel):
    """A signed statement as stored on the version."""

    model_config = ConfigDict(frozen=True)

    statement: Statement
    signature: str

    @property
    def by(self) -> str:
        return self.statement.approver

    @property
    def env(self) -> str:
        return self.statement.env

    @property
    def at(self) -> str:
        return self.statement.at

    @property
    def decision(self) -> str:
        return self.statement.decision_sha256


class Verdict(BaseModel):
    """One stored approval and whether it counts (``reason`` says why not)."""

    model_config = ConfigDict(frozen=True)

    key: str
    approver: str
    env: str
    at: str
    via: str
    counts: bool
    reason: str = ""


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-") or "anonymous"


def current_decision(record: ModelVersionRecord) -> str | None:
    """sha256 of the version's current gate decision document, if it has one."""
    raw = record.gate.get(lineage.GATE_SUMMARY)
    try:
        found = json.loads(raw) if raw else None
    except ValueError:
        return None
    digest = found.get("record_sha256") if isinstance(found, dict) else None
    return str(digest) if digest else None


def manifest_digest(record: ModelVersionRecord) -> str:
    """sha256 of the version's artifact digest manifest (the bytes its Ed25519 signature covers)."""
    return hashlib.sha256(manifest(record.name, record.model_digest or "", record.artifact_digests)).hexdigest()


def infra_digest(record: ModelVersionRecord) -> str:
    """sha256 of the version's infra-validation summary as stored ("" when it has none)."""
    raw = record.raw_tags.get(INFRA_TAG)
    return sha256_text(raw) if raw else ""


def statement_for(
    record: ModelVersionRecord,
    env: str,
    approver: str,
    authors: tuple[str, ...],
    comment: str,
    via: Via = "ssh",
    evidence: str = "",
) -> Statement:
    """The statement ``approver`` signs for ``record`` in ``env`` over its current evidence."""
    decision = current_decision(record)
    if decision is None:
        raise RefusedError(
            f"{record.ref} has no gate decision to approve",
            hint=f"run `trunkml evaluate --challenger {record.version}` first",
        )
    return Statement(
        model=record.name,
        version=record.version,
        env=env,
        model_digest=record.model_digest or "",
        manifest_sha256=manifest_digest(record),
        decision_sha256=decision,
        infra_sha256=infra_digest(record),
        approver=approver,
        authors=authors,
        via=via,
        evidence=evidence,
        at=datetime.now(UTC).isoformat(),
        comment=comment,
    )


def record_approval(registry: Registry, record: ModelVersionRecord, approval: Approval) -> str:
    """Store a signed approval on the version and in the history; returns its tag key."""
    statement = approval.statement
    key = f"{lineage.APPROVAL_PREFIX}{slug(statement.env)}.{slug(statement.approver)}"
    registry.client.set_model_version_tag(record.name, str(record.version), key, approval.model_dump_json())
    append(
        registry,
        record.name,
        Event(
            kind="approve",
            actor=statement.approver,
            to_version=record.version,
            env=statement.env,
            reason=statement.comment,
            decision=statement.decision_sha256,
            statement=sha256_text(approval.model_dump_json()),
        ),
    )
    return key


def stored(record: ModelVersionRecord) -> list[tuple[str, Approval | None, str]]:
    """Every ``trunkml.approval.*`` tag of the version: (key, the approval or None, why it is unreadable)."""
    found: list[tuple[str, Approval | None, str]] = []
    for key, raw in sorted(record.raw_tags.items()):
        if not key.startswith(lineage.APPROVAL_PREFIX):
            continue
        try:
            found.append((key, Approval.model_validate_json(raw), ""))
        except (ValidationError, ValueError):
            found.append((key, None, "not a signed approval statement (a bare tag counts for nothing)"))
    return found


def _binding(record: ModelVersionRecord, statement: Statement, env: str, decision: str | None) -> str:
    """Why ``statement`` does not bind this version's current evidence in ``env`` ("" when it does)."""
    if (statement.model, statement.version) != (record.name, record.version):
        return f"signed for {statement.model}/{statement.version}, not {record.ref}"
    if statement.env != env:
        return f"signed for '{statement.env}', not '{env}'"
    if statement.model_digest != (record.model_digest or "") or statement.manifest_sha256 != manifest_digest(record):
        return "signed over other model files than the version has now"
    if decision is not None and statement.decision_sha256 != decision:
        return "given on an earlier gate decision"
    if decision is not None and statement.infra_sha256 != infra_digest(record):
        return "given on another infra validation than the version has now"
    return ""


def check(approval: Approval, signers: AllowedSigners, attestors: tuple[str, ...]) -> str:
    """The canonical identity of a correctly signed approval's approver; IntegrityError when it is not."""
    statement = approval.statement
    key = verify(approval.signature, statement.message(), NAMESPACE)
    try:
        at = datetime.fromisoformat(statement.at)
    except ValueError as exc:
        raise IntegrityError(f"the statement's time {statement.at!r} is not an ISO time") from exc
    if at.tzinfo is None:
        raise IntegrityError(f"the statement's time {statement.at!r} has no time zone")
    signer = signers.signer_of(key, NAMESPACE, at)
    if statement.via == "ssh":
        if signer.identity in {a.casefold() for a in attestors}:
            raise IntegrityError(f"{signer.identity} is an attestor key: it signs for reviewers, never as a person")
        if signer.identity != statement.approver.casefold():
            raise IntegrityError(f"signed by {signer.identity}'s key, but it names {statement.approver} as approver")
        return signer.identity
    if signer.identity not in {a.casefold() for a in attestors}:
        raise IntegrityError(f"{signer.identity} is not an attestor of environment reviews (signers.attestors)")
    person = signers.login(statement.approver)
    if person is None:
        raise IntegrityError(f"the reviewer {statement.approver} is not a person of the allowed-signers file")
    return person.identity


def judge(
    record: ModelVersionRecord,
    rule: ApprovalRule,
    env: str,
    decision: str | None,
    signers: AllowedSigners,
    attestors: tuple[str, ...] = (),
    authors: tuple[str, ...] = (),
) -> list[Verdict]:
    """Every approval tag of ``record`` for ``env`` with whether it counts under ``rule``.

    ``decision`` None accepts approvals given on any decision (a rollback to a former champion).
    ``authors`` are the people git shows behind the change (``Name <email>``), beside those the
    statement lists. Each person counts once.
    """
    verdicts: list[Verdict] = []
    people: set[str] = set()
    allowed = {signers.identity(a) for a in rule.approvers} if rule.approvers is not None else None
    for key, approval, unreadable in stored(record):
        if approval is None:
            if f".{slug(env)}." in key:
                verdicts.append(
                    Verdict(key=key, approver="?", env=env, at="", via="?", counts=False, reason=unreadable)
                )
            continue
        if approval.env != env:
            continue
        reason, who = _judge_one(record, approval, env, decision, signers, attestors, authors, rule)
        if not reason and allowed is not None and who not in allowed:
            reason = f"{who} is not on the approvers list"
        if not reason and who in people:
            reason = "the same person already approved"
        people |= {who} if not reason else set()
        verdicts.append(
            Verdict(
                key=key,
                approver=who or approval.by,
                env=env,
                at=approval.at,
                via=approval.statement.via,
                counts=not reason,
                reason=reason,
            )
        )
    return verdicts


def _judge_one(
    record: ModelVersionRecord,
    approval: Approval,
    env: str,
    decision: str | None,
    signers: AllowedSigners,
    attestors: tuple[str, ...],
    authors: tuple[str, ...],
    rule: ApprovalRule,
) -> tuple[str, str]:
    try:
        who = check(approval, signers, attestors)
    except IntegrityError as exc:
        return f"signature: {exc.message}", ""
    except (ValueError, KeyError, TypeError) as exc:  # anything malformed in a tag only fails to count
        return f"signature: malformed ({type(exc).__name__})", ""
    bound = _binding(record, approval.statement, env, decision)
    if bound:
        return bound, who
    if not rule.allow_author:
        wrote = [a for a in (*approval.statement.authors, *authors) if signers.same_person(who, a)]
        if wrote:
            return f"{who} is an author of the change ({wrote[0]})", who
    return "", who


def counted(
    record: ModelVersionRecord,
    rule: ApprovalRule,
    env: str,
    decision: str | None,
    signers: AllowedSigners,
    attestors: tuple[str, ...] = (),
    authors: tuple[str, ...] = (),
) -> tuple[list[Verdict], list[Verdict]]:
    """(approvals that count, approvals that do not) under ``rule`` for ``env`` (see :func:`judge`)."""
    verdicts = judge(record, rule, env, decision, signers, attestors, authors)
    return [v for v in verdicts if v.counts], [v for v in verdicts if not v.counts]
