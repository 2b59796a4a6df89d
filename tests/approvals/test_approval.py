"""Approvals: who counts as the author, who counts once, and what an approval is bound to."""

from __future__ import annotations

import pytest

from tests.conftest import Project
from tests.evaluation.test_evaluate import gate_project  # noqa: F401 - fixture reuse
from tests.training.conftest import ml_project  # noqa: F401 - fixture reuse
from trunkml.approvals import Approval, approve, counted, is_author
from trunkml.approvals.approval import approvals_of, identities, identity_key
from trunkml.config import ApprovalRule
from trunkml.errors import RefusedError, UsageError
from trunkml.registry import ModelVersionRecord, Registry, show
from trunkml.registry.events import history

AUTHOR = "Ana Lima <ana@example.org>"


def record_with(approvals: list[Approval], author: str | None = AUTHOR) -> ModelVersionRecord:
    return ModelVersionRecord(
        name="m", version=3, aliases=[], status="READY", created_ms=0, run_id=None, source="models:/m/3",
        git_author=author, approvals=[a.model_dump() for a in approvals],
    )  # fmt: skip


def given(by: str, env: str = "prod", decision: str = "d1") -> Approval:
    return Approval(version=3, env=env, by=by, at="2026-12-03T00:00:00+00:00", comment="", decision=decision,
                    model_digest="abc")  # fmt: skip


@pytest.mark.parametrize(
    "actor",
    ["Ana Lima <ana@example.org>", "ana@example.org", "ANA@example.org", "ana", "Ana Lima",
     "12345+ana@users.noreply.github.com"],
)  # fmt: skip
def test_every_way_of_writing_the_author_is_the_author(actor: str) -> None:
    assert is_author(actor, AUTHOR)


def test_other_people_and_unknown_authors_are_not_the_author() -> None:
    assert not is_author("Bruno <bruno@example.org>", AUTHOR)
    assert not is_author("bruno", AUTHOR)
    assert not is_author("ana", None)  # no recorded author: nobody is excluded by mistake
    assert identities("<x@y.org>") == {"x@y.org", "x"}
    assert identity_key("Bruno Reis <bruno@example.org>") == identity_key("bruno@example.org") == "bruno"


def test_the_author_and_a_second_signature_of_one_person_do_not_count() -> None:
    record = record_with([given("ana"), given("Bruno <bruno@example.org>"), given("bruno@example.org")])
    valid, ignored = counted(record, ApprovalRule(required=2), "prod", "d1")
    assert [a.by for a in valid] == ["Bruno <bruno@example.org>"]
    reasons = {a.by: why for a, why in ignored}
    assert reasons == {"ana": "ana is the commit's author", "bruno@example.org": "the same person already approved"}


def test_approvals_count_only_for_their_environment_decision_and_approvers() -> None:
    record = record_with([given("carla", env="dev"), given("dora", decision="old"), given("eva"), given("fabio")])
    valid, ignored = counted(record, ApprovalRule(approvers=("eva",)), "prod", "d1")
    assert [a.by for a in valid] == ["eva"]
    assert {a.by: why for a, why in ignored} == {
        "dora": "given on an earlier gate decision",
        "fabio": "fabio is not on the approvers list",
    }
    assert [a.by for a in counted(record, ApprovalRule(), "prod", None)[0]] == ["dora", "eva", "fabio"]  # rollback
    assert [a.by for a in approvals_of(record, "dev")] == ["carla"]
    allowed, _ = counted(record_with([given("ana")]), ApprovalRule(allow_author=True), "prod", "d1")
    assert [a.by for a in allowed] == ["ana"]


def test_an_approval_is_bound_to_the_gate_decision_and_recorded_in_the_history(gate_project: Project) -> None:  # noqa: F811
    registry = Registry(gate_project.settings())
    record = show(registry, "demo-model", "1")
    with pytest.raises(RefusedError, match="has no gate decision to approve"):
        approve(registry, record, "reviewer", "dev", "looks fine")
    assert gate_project.cli("evaluate").code == 0
    record = show(registry, "demo-model", "1")
    with pytest.raises(UsageError, match="who approves"):
        approve(registry, record, "  ", "dev", "")
    approval = approve(registry, record, "reviewer", "dev", "looks fine")
    assert (approval.decision == show(registry, "demo-model", "1").gate and approval.decision) or approval.decision
    stored = approvals_of(show(registry, "demo-model", "1"), "dev")
    assert [(a.by, a.decision, a.model_digest) for a in stored] == [
        ("reviewer", approval.decision, record.model_digest)
    ]
    assert [(e.kind, e.actor, e.to_version) for e in history(registry, "demo-model")] == [("approve", "reviewer", 1)]
