"""Signing off: a reviewer's SSH-signed approval over the evidence they saw, or GitHub's reviewer attested by CI.

``sign_off`` refuses before anything is stored when the evidence is missing (``release.evidence``),
when the key is not an allowed signer, or when its person wrote part of the change (every author and
committer since the champion, from git). The statement is verified as promotion will verify it
before it is written.
"""

from __future__ import annotations

import base64
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from trunkml.approvals.approval import Approval, Statement, check, record_approval, statement_for
from trunkml.approvals.chain import Trust
from trunkml.approvals.github import environment_reviews
from trunkml.approvals.signers import Signer
from trunkml.approvals.sshsig import NAMESPACE, key_blob, sign_file
from trunkml.config import Settings
from trunkml.errors import ConfigError, RefusedError, UsageError
from trunkml.registry import CHAMPION, ModelVersionRecord, Registry
from trunkml.registry.aliases import current
from trunkml.release.evidence import Evidence, gather_evidence
from trunkml.release.promotion import change_authors


@contextmanager
def attestor_key(settings: Settings) -> Iterator[Path]:
    """The environment's key: ``TRUNKML_APPROVAL_KEY`` (a file), or ``TRUNKML_APPROVAL_KEY_DATA`` (a CI secret),
    written to a file only this user can read, and removed afterwards."""
    if settings.approval_key is not None:
        yield settings.approval_key
        return
    if settings.approval_key_data is None:
        raise UsageError(
            "attesting GitHub's reviewer needs the environment's attestor key",
            hint="set TRUNKML_APPROVAL_KEY_DATA from an environment secret (or TRUNKML_APPROVAL_KEY to a file)",
        )
    with tempfile.TemporaryDirectory(prefix="trunkml-key-") as scratch:
        path = Path(scratch) / "attestor"
        path.touch(mode=0o600)
        path.write_text(settings.approval_key_data.get_secret_value().strip() + "\n", encoding="utf-8")
        yield path


def signing_key(settings: Settings, key: Path | None) -> Path:
    """The private key to sign with: ``--key``, else ``TRUNKML_APPROVAL_KEY``, else git's ``user.signingkey``."""
    chosen = key or settings.approval_key
    if chosen is None:
        command = ["git", "config", "user.signingkey"]
        done = subprocess.run(command, cwd=settings.project_root, capture_output=True, text=True, check=False)  # noqa: S603
        configured = done.stdout.strip()
        chosen = Path(configured).expanduser() if configured and not configured.startswith("key::") else None
    if chosen is None:
        raise UsageError(
            "which SSH key signs the approval?",
            hint="pass --key ~/.ssh/id_ed25519, set TRUNKML_APPROVAL_KEY, or `git config user.signingkey`",
        )
    return chosen.expanduser()


def public_blob(key: Path) -> bytes:
    """The public half of a private key file: its ``.pub`` beside it, or derived from an unprotected key."""
    public = key.with_name(key.name + ".pub")
    if public.is_file():
        return base64.b64decode(public.read_text(encoding="utf-8").split()[1])
    try:
        private = serialization.load_ssh_private_key(key.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"cannot read {key} (protected keys need their .pub file beside them): {exc}") from exc
    if not isinstance(private, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ConfigError(f"{key} is not an Ed25519, ECDSA or RSA key")
    return key_blob(private.public_key())


def _signer(trust: Trust, key: Path) -> Signer:
    return trust.signers.signer_of(public_blob(key), NAMESPACE, datetime.now(UTC))


def _refuse_authors(trust: Trust, approver: str, authors: tuple[str, ...], env: str) -> None:
    if trust.rule(env).allow_author:
        return
    wrote = [a for a in authors if trust.signers.same_person(approver, a)]
    if wrote:
        raise RefusedError(
            f"{approver} is an author of this change ({wrote[0]}), so their approval would not count",
            hint="another person, who wrote none of the commits since the champion, must approve",
        )


def _sign_and_store(
    registry: Registry, record: ModelVersionRecord, trust: Trust, key: Path, statement: Statement
) -> Approval:
    approval = Approval(statement=statement, signature=sign_file(key, statement.message()))
    check(approval, trust.signers, trust.attestors)  # as promotion will: nothing unverifiable is stored
    record_approval(registry, record, approval)
    return approval


def sign_off(
    settings: Settings,
    registry: Registry,
    record: ModelVersionRecord,
    env: str,
    comment: str,
    key: Path | None = None,
    by: str | None = None,
) -> tuple[Approval, Evidence]:
    """Sign and record an approval of ``record`` for ``env`` with the reviewer's own SSH key."""
    evidence = gather_evidence(settings, registry, record)
    trust = Trust.of(settings)
    chosen = signing_key(settings, key)
    signer = _signer(trust, chosen)
    if by and not signer.names_person(by):
        raise UsageError(f"--by {by!r}, but {chosen} is the key of {signer.identity}", hint="drop --by or use your key")
    authors = change_authors(settings, registry, record, current(registry, record.name, CHAMPION))
    _refuse_authors(trust, signer.identity, authors, env)
    statement = statement_for(record, env, signer.identity, authors, comment)
    return _sign_and_store(registry, record, trust, chosen, statement), evidence


def sign_off_github_review(
    settings: Settings, registry: Registry, record: ModelVersionRecord, env: str
) -> tuple[list[Approval], Evidence]:
    """Attest the reviewers GitHub recorded for ``env`` in this run, signed with the environment's attestor key."""
    evidence = gather_evidence(settings, registry, record)
    with attestor_key(settings) as key:
        return _attest(settings, registry, record, env, key), evidence


def _attest(settings: Settings, registry: Registry, record: ModelVersionRecord, env: str, key: Path) -> list[Approval]:
    trust = Trust.of(settings)
    attestor = _signer(trust, key)
    if attestor.identity not in {a.casefold() for a in trust.attestors}:
        raise ConfigError(f"{attestor.identity} is not listed in signers.attestors of trunkml.yaml")
    authors = change_authors(settings, registry, record, current(registry, record.name, CHAMPION))
    approvals: list[Approval] = []
    for review in environment_reviews(settings, env):
        person = trust.signers.login(review.login)
        if person is None:
            raise RefusedError(
                f"the '{env}' reviewer {review.login} is not in {trust.signers.path.name}",
                hint="list every reviewer of the environment (their login as a principal) in the allowed signers",
            )
        _refuse_authors(trust, person.identity, authors, env)
        approvals.append(
            _sign_and_store(
                registry,
                record,
                trust,
                key,
                statement_for(
                    record, env, person.identity, authors, review.comment, "github-environment", review.evidence
                ),
            )
        )
    return approvals
