"""approve → promote → history → rollback → status, and every refusal leaves the aliases alone."""

from __future__ import annotations

import pytest

from tests.conftest import Project, add_signer
from trunkml.registry import Registry
from trunkml.registry.aliases import current


def champion(project: Project) -> int | None:
    return current(Registry(project.settings()), "promo-model", "champion")


def test_the_whole_cycle(promo: Project) -> None:
    assert promo.cli("evaluate", "--challenger", "1", "--champion", "@champion").code == 0  # cold start
    first = promo.cli("promote", "1", "--by", "alice", "--reason", "first champion", "--json")
    assert first.code == 0, first.stderr
    assert (first.json()["version"], first.json()["previous"]) == (1, None)

    gate = promo.cli("evaluate", "--challenger", "2", "--json").json()
    assert gate["decision"]["promote"], gate["decision"]["reasons"]
    assert gate["champion"] == 1
    second = promo.cli("promote", "@challenger", "--by", "alice", "--json").json()
    assert (second["version"], second["previous"]) == (2, 1)
    assert current(Registry(promo.settings()), "promo-model", "previous") == 1

    back = promo.cli("rollback", "--by", "bob", "--reason", "latency regression", "--json")
    assert back.code == 0, back.stderr
    assert (back.json()["version"], back.json()["previous"]) == (1, 2)
    assert champion(promo) == 1

    events = promo.cli("history", "--json").json()
    assert [(e["kind"], e["from_version"], e["to_version"]) for e in events] == [
        ("promote", None, 1),
        ("promote", 1, 2),
        ("rollback", 2, 1),
    ]
    assert events[2]["actor"] == "bob"
    assert events[2]["reason"] == "latency regression"
    status = promo.cli("status", "--json").json()
    assert status["champion"]["version"] == 1
    assert status["challenger"]["version"] == 2
    assert [e["kind"] for e in status["events"]][-1] == "rollback"
    human = promo.cli("status").stdout
    assert "champion" in human
    assert "rollback" in human


def test_refusals_leave_the_champion_alone(promo: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    no_decision = promo.cli("promote", "1", "--by", "alice")
    assert no_decision.code == 1
    assert "has no gate decision" in no_decision.stderr
    assert champion(promo) is None

    assert promo.cli("evaluate", "--challenger", "1").code == 0
    assert promo.cli("promote", "1", "--by", "alice").code == 0
    assert promo.cli("train", "promo-model", "--input", "train=pool-train", "--param", "C=0.05").code == 0  # v3
    rejected_gate = promo.cli("evaluate", "--challenger", "3", "--json").json()
    assert rejected_gate["decision"]["promote"] is False
    rejected = promo.cli("promote", "3", "--by", "alice")
    assert rejected.code == 1
    assert "gate decision is 'reject'" in rejected.stderr

    assert promo.cli("evaluate", "--challenger", "2").code == 0
    monkeypatch.setenv("TRUNKML_ENV", "test")  # test needs one approval
    missing = promo.cli("promote", "2", "--by", "alice")
    assert missing.code == 1
    assert "approvals: 0 of 1 needed for 'test'" in missing.stderr
    dev = promo.signer("dev-login", "dev@example.org")  # the commit's author, known by a login and an email
    own = promo.cli("approve", "2", "--key", str(dev))
    assert own.code == 1
    assert "dev-login is an author of this change (Dev <dev@example.org>)" in own.stderr
    assert champion(promo) == 1

    assert promo.cli("data", "synth", "--rows", "400", "--seed", "77", "--add", "other").code == 0
    assert promo.cli("data", "split", "other", "--add", "pool").code == 0  # pool-eval moves on
    stale = promo.cli("promote", "2", "--by", "alice")
    assert stale.code == 1
    assert "was made on eval data" in stale.stderr
    assert champion(promo) == 1


def test_approval_by_someone_else_lets_it_through(promo: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    assert promo.cli("evaluate", "--challenger", "1").code == 0
    monkeypatch.setenv("TRUNKML_ENV", "prod")
    assert promo.cli("infra-validate", "1").code == 0  # prod always needs it, whatever trunkml.yaml says
    monkeypatch.setenv("GITHUB_ACTOR", "carol")
    monkeypatch.setenv("TRUNKML_APPROVAL_KEY", str(promo.signer("carol", "carol@example.org")))
    approved = promo.cli("approve", "1", "--comment", "looks good", "--json")
    assert approved.code == 0, approved.stderr
    statement = approved.json()["approvals"][0]["statement"]
    assert (statement["approver"], statement["env"], statement["comment"]) == ("carol", "prod", "looks good")
    listed = promo.cli("approvals", "list", "1", "--json").json()
    assert [(a["approver"], a["env"], a["counts"]) for a in listed] == [("carol", "prod", True)]
    assert promo.cli("promote", "1").code == 0  # the actor comes from GITHUB_ACTOR
    assert champion(promo) == 1
    card = promo.cli("models", "card", "1")
    assert card.code == 0
    for part in ("# Model card: promo-model v1", "## Lineage", "## Gate decision", "PROMOTE", "## Approvals",
                 "| prod | carol |", "verified", "## History", "promote"):  # fmt: skip
        assert part in card.stdout, part


def test_a_tampered_artifact_is_refused(promo: Project) -> None:
    assert promo.cli("evaluate", "--challenger", "1").code == 0
    for stored in (promo.root / ".trunkml" / "artifacts").rglob("linear.npz"):  # every stored copy of the weights
        stored.write_bytes(stored.read_bytes() + b"\0")
    result = promo.cli("promote", "1", "--by", "alice")
    assert result.code == 1
    assert "does not match its recorded artifact digests" in result.stderr
    assert champion(promo) is None


def test_rollback_with_no_history_is_a_clear_refusal(promo: Project) -> None:
    assert promo.cli("evaluate", "--challenger", "1").code == 0
    assert promo.cli("promote", "1", "--by", "alice").code == 0  # a champion, but no earlier one
    result = promo.cli("rollback", "--by", "alice")
    assert result.code == 1
    assert "no previous champion of promo-model in the history" in result.stderr
    assert "--to REF" in result.stderr


def test_self_approval_in_any_form_is_refused(promo: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    assert promo.cli("evaluate", "--challenger", "1").code == 0
    monkeypatch.setenv("TRUNKML_ENV", "prod")
    carol = promo.signer("carol")
    refused_blind = promo.cli("approve", "1", "--key", str(carol))
    assert refused_blind.code == 1
    assert "infra validation: promo-model/1 has none" in refused_blind.stderr  # infra_validation: false, but prod
    assert promo.cli("infra-validate", "1").code == 0
    # The author Dev <dev@example.org>, listed under a login and written three other ways.
    for i, alias in enumerate(("DEV@example.org", "Dev", "dev@example.org")):
        key = (
            promo.signer(f"someone-{i}", alias) if "@" in alias else add_signer(promo.root, f"someone-{i}", names=alias)
        )
        own = promo.cli("approve", "1", "--key", str(key))
        assert own.code == 1, alias
        assert f"someone-{i} is an author of this change" in own.stderr
    with_by = promo.cli("approve", "1", "--key", str(carol), "--by", "alice")
    assert with_by.code == 2
    assert "is the key of carol" in with_by.stderr
    assert champion(promo) is None


def test_rollback_only_returns_to_a_former_champion(promo: Project) -> None:
    none_yet = promo.cli("rollback", "--to", "2", "--by", "ops")
    assert none_yet.code == 1
    assert "has no champion to roll back" in none_yet.stderr
    assert promo.cli("evaluate", "--challenger", "1").code == 0
    assert promo.cli("promote", "1", "--by", "ops").code == 0
    never = promo.cli("rollback", "--to", "2", "--by", "ops")
    assert never.code == 1
    assert "was never the champion" in never.stderr
    assert champion(promo) == 1


def test_an_environment_without_its_own_registry_is_refused(promo: Project) -> None:
    result = promo.cli("promote", "1", "--env", "prod", "--by", "ops")
    assert result.code == 2
    assert "has no registry of its own" in result.stderr


def test_a_move_cut_off_half_way_either_happened_or_not_and_history_agrees(
    promo: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trunkml.errors import UnavailableError
    from trunkml.registry.events import pending
    from trunkml.release import promotion

    def kinds() -> list[tuple[str, int | None, int | None]]:
        return [(e["kind"], e["from_version"], e["to_version"]) for e in promo.cli("history", "--json").json()]

    assert promo.cli("evaluate", "--challenger", "1").code == 0
    assert promo.cli("promote", "1", "--by", "alice").code == 0
    assert promo.cli("evaluate", "--challenger", "2").code == 0

    real_move = promotion.move_alias

    def dies_before_champion_moves(registry: Registry, model: str, alias: str, version: int) -> None:
        if alias == "champion":
            raise UnavailableError("could not move @champion: connection refused")
        real_move(registry, model, alias, version)

    monkeypatch.setattr(promotion, "move_alias", dies_before_champion_moves)
    cut = promo.cli("promote", "2", "--by", "alice")
    assert cut.code == 3
    assert "the move either took effect or did not" in cut.stderr
    assert champion(promo) == 1
    assert kinds() == [("promote", None, 1)]  # it did not happen, and the history says so
    monkeypatch.setattr(promotion, "move_alias", real_move)
    assert promo.cli("promote", "2", "--by", "alice").code == 0
    assert kinds() == [("promote", None, 1), ("promote", 1, 2)]
    assert pending(Registry(promo.settings()), "promo-model") == []  # the failed intent was settled as failed

    real_finish = promotion.finish
    monkeypatch.setattr(promotion, "finish", lambda *_: (_ for _ in ()).throw(UnavailableError("connection reset")))
    lost = promo.cli("rollback", "--by", "bob")
    assert lost.code == 3
    assert champion(promo) == 1
    assert kinds()[-1] == ("rollback", 2, 1)  # it happened (only its last write was lost), and the history says so
    monkeypatch.setattr(promotion, "finish", real_finish)
    assert [happened for _, happened in pending(Registry(promo.settings()), "promo-model")] == [True]
    assert promo.cli("promote", "2", "--by", "alice").code == 0  # settles the rollback first
    assert kinds() == [("promote", None, 1), ("promote", 1, 2), ("rollback", 2, 1), ("promote", 1, 2)]
    assert pending(Registry(promo.settings()), "promo-model") == []


def test_unknown_authors_can_be_refused(promo: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """A made-up commit identity cannot hide an author where the project requires every author to be known."""
    text = (promo.root / "trunkml.yaml").read_text(encoding="utf-8")
    (promo.root / "trunkml.yaml").write_text(text + "signers: {require_known_authors: true}\n", encoding="utf-8")
    monkeypatch.setenv("TRUNKML_ENV", "test")
    assert promo.cli("evaluate", "--challenger", "1").code == 0
    assert promo.cli("approve", "1", "--key", str(promo.signer("carol"))).code == 0
    refused = promo.cli("promote", "1", "--by", "ops")
    assert refused.code == 1
    assert "authors: Dev <dev@example.org> wrote part of the change but are not in allowed_signers" in refused.stderr
    promo.signer("dev-login", "dev@example.org")  # the author, now a known person (who did not approve)
    assert promo.cli("promote", "1", "--by", "ops").code == 0
