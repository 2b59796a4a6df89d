"""A protected champion and `trunkml audit`: what an attacker with registry credentials but no signing key gets.

Real stores, real processes: the promotion project's SQLite registry, the CLI, and a `trunkml serve`
process on 127.0.0.1 in the `test` environment (which requires one approval).
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.conftest import Project
from tests.serving.conftest import launch_server
from tests.serving.test_status_page import CHROMIUM, _chromium
from trunkml.registry import Registry, lineage
from trunkml.registry.aliases import current
from trunkml.registry.events import TAG, Event, append, chain

MODEL = "promo-model"


@pytest.fixture
def guarded(promo: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    """v1 promoted in `test` with carol's signed approval; v2 evaluated against it (PROMOTE), not approved."""
    monkeypatch.setenv("TRUNKML_ENV", "test")
    monkeypatch.setenv("TRUNKML_APPROVAL_KEY", str(promo.signer("carol", "carol@example.org")))
    assert promo.cli("evaluate", "--challenger", "1").code == 0
    assert promo.cli("approve", "1").code == 0
    assert promo.cli("promote", "1", "--by", "ops").code == 0
    assert promo.cli("evaluate", "--challenger", "2").code == 0
    return promo


def champion(project: Project) -> int | None:
    return current(Registry(project.settings()), MODEL, "champion")


def test_a_champion_moved_outside_trunkml_is_refused_flagged_and_repaired(guarded: Project, tmp_path: Path) -> None:
    endpoint = tmp_path / "endpoint.yaml"
    endpoint.write_text(f"model: {MODEL}\nfollow: {{poll_interval_s: 0.2}}\n", encoding="utf-8")
    server = launch_server(guarded.root, endpoint, tmp_path, extra_env={"TRUNKML_ENV": "test"})
    try:
        server.serving(1)
        # Someone with the registry's credentials but no allowed signing key moves @champion by hand.
        Registry(guarded.settings()).client.set_registered_model_alias(MODEL, "champion", "2")
        server.wait_for(lambda c: any(r["version"] == 2 for r in c.get("/model").json()["refused"]))
        described = httpx.get(f"{server.url}/model").json()
        assert described["champion"]["version"] == 1  # the old model keeps serving
        refusal = next(r for r in described["refused"] if r["version"] == 2)
        assert refusal["reason"] == "unverified"
        assert "moved to v2 outside trunkml" in refusal["message"]
        assert "0 of 1 verified approval(s) for 'test'" in refusal["message"]
        metrics = httpx.get(f"{server.url}/metrics").text
        assert 'trunkml_model_swap_failures_total{reason="unverified",role="champion"} 1.0' in metrics
        with server.client() as client:
            assert client.post("/predict", json={"text": "um texto"}).json()["version"] == 1
    finally:
        server.kill()

    status = guarded.cli("status")
    assert "champion not verified" in status.stdout
    assert "moved to v2 outside trunkml" in status.stdout
    audit = guarded.cli("audit", "--json")
    assert audit.code == 1
    found = audit.json()
    assert found["verified_champion"] == 1
    assert [f["kind"] for f in found["findings"]] == ["alias"]
    assert "@champion points at v2, but the chain's last move names v1" in found["findings"][0]["message"]

    repaired = guarded.cli("audit", "--repair", "--yes", "--by", "ops")
    assert repaired.code == 0, repaired.stderr
    assert "repaired" in repaired.stdout
    assert champion(guarded) == 1
    assert guarded.cli("audit").code == 0
    kinds = [e.kind for e in chain(Registry(guarded.settings()), MODEL)]
    assert kinds == ["approve", "promote", "repair"]


def test_forged_approvals_and_edited_history_are_caught(guarded: Project) -> None:
    registry = Registry(guarded.settings())
    forged = {"version": 2, "env": "test", "by": "carol", "decision": "x", "model_digest": ""}
    registry.client.set_model_version_tag(MODEL, "2", f"{lineage.APPROVAL_PREFIX}test.carol", json.dumps(forged))
    refused = guarded.cli("promote", "2", "--by", "ops")
    assert refused.code == 1
    assert "not a signed approval statement" in refused.stderr
    assert champion(guarded) == 1

    promoted = next(e for e in chain(registry, MODEL) if e.kind == "promote")
    registry.client.set_tag(promoted.id, f"{TAG}actor", "someone-else")  # rewriting who promoted
    audit = guarded.cli("audit", "--json")
    assert audit.code == 1
    messages = [f["message"] for f in audit.json()["findings"]]
    assert any("event #2 (promote vNone→v1" in m and "was edited" in m for m in messages)
    assert audit.json()["verified_champion"] is None  # nothing verifies on an edited chain


def test_a_decision_replays_byte_identical_and_an_altered_one_is_flagged(guarded: Project) -> None:
    replayed = guarded.cli("audit", "2", "--json")
    assert replayed.code == 0, replayed.stdout + replayed.stderr
    replay = replayed.json()["replay"]
    assert replay["identical"]
    assert replay["document_intact"]
    assert replay["replayed"] == replay["stored"]
    assert (replay["champion"], replay["replayed"]["promote"]) == (1, True)
    human = guarded.cli("audit", "2")
    assert "byte-identical to the stored decision" in human.stdout
    # Without the prediction cache, the replay recomputes both models' predictions and still matches.
    for cached in (guarded.root / ".trunkml" / "cache" / "predictions").rglob("*"):
        if cached.is_file():
            cached.unlink()
    assert guarded.cli("audit", "2").code == 0
    # Someone edits the stored decision document: fewer discordant pairs against the challenger.
    stored = next((guarded.root / ".trunkml" / "artifacts").rglob("trunkml/decisions/*-vs-v1.json"))
    document = json.loads(stored.read_text(encoding="utf-8"))
    document["decision"]["b"] = 0
    stored.write_text(json.dumps(document), encoding="utf-8")
    altered = guarded.cli("audit", "2", "--json")
    assert altered.code == 1
    messages = [f["message"] for f in altered.json()["findings"]]
    assert "v2's stored decision document was altered" in messages
    assert any(m.startswith("v2's decision does not replay: ['b: stored 0, replayed") for m in messages)


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (Debian package 'chromium')")
def test_the_model_card_renders_in_a_browser(guarded: Project, tmp_path: Path) -> None:
    card = guarded.cli("models", "card", "2", "--html")
    assert card.code == 0, card.stderr
    page = tmp_path / "card.html"
    page.write_text(card.stdout, encoding="utf-8")
    dom = _chromium(tmp_path / "profile", "--dump-dom", page.as_uri())
    for heading in ("Lineage", "Data", "Metrics", "Gate decision", "Guards", "Infra validation", "Approvals",
                    "History", "History chain head"):  # fmt: skip
        assert f"<h2>{heading}</h2>" in dom, heading
    assert "<svg" in dom
    assert "recall change +" in dom  # the verdict's picture: the change with its interval
    shot = tmp_path / "card.png"
    _chromium(tmp_path / "profile", f"--screenshot={shot}", "--window-size=1000,1400", page.as_uri())
    assert shot.stat().st_size > 10_000
    stored = Registry(guarded.settings()).client.list_artifacts(show_run(guarded, 2), "trunkml/card")
    assert sorted(Path(f.path).name for f in stored) == ["model-card.html", "model-card.md"]


def show_run(project: Project, version: int) -> str:
    run_id = Registry(project.settings()).client.get_model_version(MODEL, str(version)).run_id
    assert run_id
    return run_id


def test_history_events_invented_by_a_registry_writer_do_not_make_a_champion(guarded: Project) -> None:
    """Events are not signed, so a registry writer can append well-linked ones; they still need a real decision."""
    registry = Registry(guarded.settings())
    carol = guarded.root / ".trunkml" / "keys" / "carol"
    assert guarded.cli("approve", "2", "--key", str(carol)).code == 0  # v2 approved, not (yet) promoted
    fakes = [
        Event(kind="promote", actor="mallory", from_version=1, to_version=2, alias="champion", decision="0" * 64),
        Event(kind="rollback", actor="mallory", from_version=2, to_version=2, alias="champion"),
    ]
    expected = ["the decision v2 was promoted on is not in its run", "never promoted on a verified decision"]
    for fake, why in zip(fakes, expected, strict=True):
        append(registry, MODEL, fake)  # correctly chained: the chain itself stays intact
        registry.client.set_registered_model_alias(MODEL, "champion", "2")
        unverified = guarded.cli("status", "--json").json()["champion_unverified"]
        assert any(why in problem for problem in unverified), unverified
        assert not any("history:" in problem for problem in unverified)


def test_a_canary_needs_a_promote_decision_where_approvals_are_required(
    guarded: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRUNKML_ENV", "dev")  # an experiment (dev trains uncommitted changes) ...
    assert guarded.cli("train", MODEL, "--input", "train=pool-train", "--param", "C=0.05").code == 0  # v3
    monkeypatch.setenv("TRUNKML_ENV", "test")  # ... that the test environment's gate rejects
    assert guarded.cli("evaluate", "--challenger", "3", "--json").json()["decision"]["promote"] is False
    endpoint = tmp_path / "endpoint.yaml"
    endpoint.write_text(f"model: {MODEL}\ntraffic: {{canary: {{percent: 50}}}}\n", encoding="utf-8")
    server = launch_server(guarded.root, endpoint, tmp_path, extra_env={"TRUNKML_ENV": "test"})
    try:
        server.serving(1)
        server.wait_for(lambda c: any(r["version"] == 3 for r in c.get("/model").json()["refused"]))
        described = httpx.get(f"{server.url}/model").json()
        assert described["challenger"] is None
        refusal = next(r for r in described["refused"] if r["version"] == 3)
        assert (refusal["role"], refusal["reason"]) == ("challenger", "unverified")
        assert "no intact PROMOTE gate decision" in refusal["message"]
    finally:
        server.kill()
