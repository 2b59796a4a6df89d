"""Signed approvals: which count, and why the others do not (forged, unknown key, an author, stale evidence)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import add_signer
from trunkml.approvals import Approval, counted
from trunkml.approvals.approval import Statement, statement_for
from trunkml.approvals.signers import AllowedSigners
from trunkml.approvals.sshsig import sign_file
from trunkml.config import ApprovalRule
from trunkml.errors import ConfigError
from trunkml.registry import ModelVersionRecord, lineage

AUTHOR = "Jane Doe <jane.doe@corp.example>"


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    """Three people in an allowed-signers file: jdoe (the author, under another name), bruno and carla."""
    return {
        "jdoe": add_signer(
            tmp_path, "jdoe", "jane.doe@corp.example", "123+jdoe@users.noreply.github.com", names="Jane Doe"
        ),
        "bruno": add_signer(tmp_path, "bruno", "bruno@corp.example", names="Bruno Reis"),
        "carla": add_signer(tmp_path, "carla", "carla@corp.example"),
    }


def version(approvals: dict[str, str], decision: str = "d1", author: str = AUTHOR) -> ModelVersionRecord:
    gate = {lineage.GATE_SUMMARY: json.dumps({"record_sha256": decision, "decision": "promote"})}
    return ModelVersionRecord(
        name="m",
        version=3,
        aliases=[],
        status="READY",
        created_ms=0,
        run_id=None,
        source="models:/m/3",
        git_author=author,
        model_digest="abc",
        artifact_digests={"model.skops": "f00"},
        gate=gate,
        raw_tags={**gate, **approvals},
    )


def signed(record: ModelVersionRecord, key: Path, approver: str, env: str = "prod", **changes: object) -> str:
    statement = statement_for(record, env, approver, (AUTHOR,), "ok").model_copy(update=changes)
    return Approval(statement=statement, signature=sign_file(key, statement.message())).model_dump_json()


def tag(env: str, who: str) -> str:
    return f"{lineage.APPROVAL_PREFIX}{env}.{who}"


def reasons(record: ModelVersionRecord, signers: AllowedSigners, **rule: object) -> dict[str, str]:
    verdicts = counted(record, ApprovalRule(**rule), "prod", "d1", signers)  # type: ignore[arg-type]
    return {v.key.rsplit(".", 1)[1]: ("counts" if v.counts else v.reason) for v in [*verdicts[0], *verdicts[1]]}


def test_the_allowed_signers_file_maps_names_and_emails_to_one_identity(tmp_path: Path, keys: dict[str, Path]) -> None:
    signers = AllowedSigners.load(tmp_path / "allowed_signers")
    for written in (
        "jdoe",
        AUTHOR,
        "Jane  Doe <other@example.org>",
        "JANE.DOE@corp.example",
        "123+jdoe@users.noreply.github.com",
    ):
        assert signers.same_person("jdoe", written), written
    assert signers.identity(AUTHOR) == "jdoe"
    assert not signers.same_person("bruno", AUTHOR)
    assert signers.identity("Someone <someone@else.org>") == "someone@else.org"
    (tmp_path / "bad").write_text("jdoe ssh-ed25519\n")
    with pytest.raises(ConfigError, match=r"bad:1: expected"):
        AllowedSigners.load(tmp_path / "bad")


def test_only_correctly_signed_approvals_by_allowed_non_authors_count(tmp_path: Path, keys: dict[str, Path]) -> None:
    signers = AllowedSigners.load(tmp_path / "allowed_signers")
    base = version({})
    (tmp_path / "elsewhere").mkdir()
    outsider = add_signer(tmp_path / "elsewhere", "mallory")  # listed in another file, not the project's
    forged_bare = json.dumps({"version": 3, "env": "prod", "by": "bruno", "decision": "d1"})
    edited = json.loads(signed(base, keys["carla"], "carla"))
    edited["statement"]["comment"] = "edited after signing"
    record = version(
        {
            tag("prod", "jdoe"): signed(base, keys["jdoe"], "jdoe"),  # the author, under their login
            tag("prod", "bruno"): signed(base, keys["bruno"], "bruno"),
            tag("prod", "forged"): forged_bare,  # a bare tag written with MlflowClient
            tag("prod", "carla"): json.dumps(edited),
            tag("prod", "mallory"): signed(base, outsider, "mallory"),  # a key not in the allowed-signers file
            tag("prod", "impostor"): signed(base, keys["carla"], "bruno"),  # carla's key claiming to be bruno
        }
    )
    found = reasons(record, signers)
    assert found["bruno"] == "counts"
    assert found["jdoe"] == f"jdoe is an author of the change ({AUTHOR})"
    assert found["forged"] == "not a signed approval statement (a bare tag counts for nothing)"
    assert "changed after signing" in found["carla"]
    assert "is not an allowed signer" in found["mallory"]
    assert "signed by carla's key, but it names bruno" in found["impostor"]


def test_an_approval_is_bound_to_the_environment_files_decision_and_approvers(
    tmp_path: Path, keys: dict[str, Path]
) -> None:
    signers = AllowedSigners.load(tmp_path / "allowed_signers")
    base = version({})
    record = version(
        {
            tag("prod", "bruno"): signed(base, keys["bruno"], "bruno", decision_sha256="old"),
            tag("prod", "carla"): signed(base, keys["carla"], "carla", manifest_sha256="other"),
            tag("dev", "bruno"): signed(base, keys["bruno"], "bruno", env="dev"),
        }
    )
    found = reasons(record, signers)
    assert found == {
        "bruno": "given on an earlier gate decision",
        "carla": "signed over other model files than the version has now",
    }
    again = version(
        {
            tag("prod", "bruno"): signed(base, keys["bruno"], "bruno"),
            tag("prod", "bruno2"): signed(base, keys["bruno"], "bruno"),
            tag("prod", "carla"): signed(base, keys["carla"], "carla"),
        }
    )
    assert reasons(again, signers, approvers=("Bruno Reis <bruno@corp.example>",)) == {
        "bruno": "counts",
        "bruno2": "the same person already approved",
        "carla": "carla is not on the approvers list",
    }
    # Rollback (decision None) accepts an earlier decision, but never other files.
    valid, _ = counted(record, ApprovalRule(), "prod", None, signers)
    assert [v.approver for v in valid] == ["bruno"]
    # git shows more authors than the statement listed: they count too.
    one = version({tag("prod", "carla"): signed(base, keys["carla"], "carla")})
    valid, ignored = counted(one, ApprovalRule(), "prod", "d1", signers, authors=("Carla <carla@corp.example>",))
    assert not valid
    assert "carla is an author" in ignored[0].reason


def test_a_statement_is_canonical_json(keys: dict[str, Path]) -> None:
    statement = statement_for(version({}), "prod", "bruno", (AUTHOR,), "")
    assert Statement.model_validate_json(statement.message()) == statement
    assert b", " not in statement.message()
    assert b": " not in statement.message()


def test_options_namespaces_and_validity_are_honoured(tmp_path: Path) -> None:
    key = add_signer(tmp_path, "ana")
    line = (tmp_path / "allowed_signers").read_text().strip()
    principals, rest = line.split(" ", 1)
    (tmp_path / "allowed_signers").write_text(
        f'{principals} namespaces="git,trunkml-approval",valid-before="20300101" {rest}\n'
        f'"bruno" namespaces="git" {rest}\n'
    )
    signers = AllowedSigners.load(tmp_path / "allowed_signers")
    assert signers.signers[0].namespaces == ("git", "trunkml-approval")
    record = version({})
    good = version({tag("prod", "ana"): signed(record, key, "ana")})
    assert reasons(good, signers) == {"ana": "counts"}
    late = version({tag("prod", "ana"): signed(record, key, "ana", at="2031-01-01T00:00:00+00:00")})
    assert "is not an allowed signer" in reasons(late, signers)["ana"]
    (tmp_path / "allowed_signers").write_text(f'{principals} namespaces="git" {rest}\n')
    git_only = AllowedSigners.load(tmp_path / "allowed_signers")
    assert "is not an allowed signer for 'trunkml-approval'" in reasons(good, git_only)["ana"]


def test_an_attestor_never_approves_as_a_person_and_a_lapsed_key_cannot_backdate(
    tmp_path: Path, keys: dict[str, Path]
) -> None:
    attestor = add_signer(tmp_path, "ci-prod")
    signers = AllowedSigners.load(tmp_path / "allowed_signers")
    base = version({})
    own = version({tag("prod", "ci-prod"): signed(base, attestor, "ci-prod")})
    verdicts = counted(own, ApprovalRule(), "prod", "d1", signers, attestors=("ci-prod",))
    assert "an attestor key" in verdicts[1][0].reason
    line = (tmp_path / "allowed_signers").read_text().splitlines()[1]  # bruno's key
    principals, rest = line.split(" ", 1)
    (tmp_path / "allowed_signers").write_text(f'{principals} valid-before="20200101" {rest}\n')
    lapsed = AllowedSigners.load(tmp_path / "allowed_signers")
    backdated = version({tag("prod", "bruno"): signed(base, keys["bruno"], "bruno", at="2019-06-01T00:00:00+00:00")})
    assert "is not an allowed signer" in reasons(backdated, lapsed)["bruno"]


def test_malformed_signatures_are_refused_not_crashed_on(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    from trunkml.approvals import sshsig
    from trunkml.errors import IntegrityError

    key = ec.generate_private_key(ec.SECP256R1())
    good = sshsig.sign_with(key, b"m")
    blob = sshsig.base64.b64decode("".join(good.strip().splitlines()[1:-1]))
    bogus = blob.replace(b"ecdsa-sha2-nistp256", b"ecdsa-sha2-nistp999")
    with pytest.raises(IntegrityError):
        sshsig.verify(sshsig.armor(bogus), b"m")
    with pytest.raises(IntegrityError, match="trailing data"):
        sshsig.verify(sshsig.armor(blob + b"junk"), b"m")
    record = version({tag("prod", "x"): json.dumps({"statement": {"broken": True}, "signature": 3})})
    assert reasons(record, AllowedSigners.load(tmp_path / "none")) == {
        "x": "not a signed approval statement (a bare tag counts for nothing)"
    }
