"""Promotion from dev to prod across two separate SQLite registries: copy, then the target's policy."""

from __future__ import annotations

import pytest

from tests.conftest import Project
from trunkml.config import settings_for
from trunkml.registry import Registry, show
from trunkml.registry.aliases import current
from trunkml.registry.events import history


@pytest.mark.slow
def test_promote_from_dev_to_prod(promo: Project) -> None:
    with (promo.root / "trunkml.yaml").open("a", encoding="utf-8") as handle:
        handle.write("environments:\n  prod: {tracking_uri: 'sqlite:///prod/mlflow.db'}\n")
    assert promo.cli("evaluate", "--challenger", "1").code == 0
    prod = settings_for(promo.settings(), "prod")
    unvalidated = promo.cli("promote", "1", "--from", "dev", "--to", "prod", "--by", "alice")
    assert unvalidated.code == 1  # prod needs infra validation even though dev does not (gate.infra_validation)
    assert "infra validation: promo-model/1 has none" in unvalidated.stderr
    assert promo.cli("infra-validate", "1").code == 0
    assert prod.tracking_uri.endswith(".trunkml/prod/mlflow.db")
    assert prod.tracking_uri != promo.settings().tracking_uri

    needs = promo.cli("promote", "1", "--from", "dev", "--to", "prod", "--by", "alice")
    assert needs.code == 1
    assert "copied promo-model v1 from 'dev' to 'prod' as v1" in needs.stderr
    assert "needs 1 approval(s) and has 0" in needs.stderr
    target = Registry(prod)
    assert current(target, "promo-model", "champion") is None

    approved = promo.cli(
        "approve", "1", "--env", "prod", "--key", str(promo.signer("carol"))
    )  # on the prod copy: evidence travelled
    assert approved.code == 0, approved.stderr
    assert "infra validation passed" in approved.stdout
    done = promo.cli("promote", "1", "--from", "dev", "--to", "prod", "--by", "alice", "--json")
    assert done.code == 0, done.stderr
    assert done.json()["env"] == "prod"
    assert current(target, "promo-model", "champion") == 1
    copied = show(target, "promo-model", "1")
    source = show(Registry(promo.settings()), "promo-model", "1")
    assert copied.git_sha == source.git_sha
    assert copied.artifact_digests == source.artifact_digests
    assert copied.gate["trunkml.gate.summary"] == source.gate["trunkml.gate.summary"]
    assert [a["statement"]["approver"] for a in copied.approvals] == ["carol"]
    assert [e.kind for e in history(target, "promo-model")] == ["approve", "promote"]
    audited = promo.cli("audit", "--env", "prod", "--json")  # the copy's chain and its prod approval verify
    assert audited.code == 0, audited.stdout
    assert current(Registry(promo.settings()), "promo-model", "champion") is None  # dev untouched
    again = promo.cli("promote", "1", "--from", "dev", "--to", "prod", "--by", "alice")
    assert again.code == 1
    assert "already the champion in 'prod'" in again.stderr


@pytest.mark.slow
def test_the_cross_environment_path_runs_the_same_gate_checks(promo: Project) -> None:
    with (promo.root / "trunkml.yaml").open("a", encoding="utf-8") as handle:
        handle.write("environments:\n  prod: {tracking_uri: 'sqlite:///prod/mlflow.db'}\n")
    assert promo.cli("evaluate", "--challenger", "1").code == 0
    assert promo.cli("data", "split", "pool", "--eval-fraction", "0.3", "--add", "pool").code == 0  # pool-eval@2
    stale = promo.cli("promote", "1", "--from", "dev", "--to", "prod", "--by", "ops")
    assert stale.code == 1
    assert "was made on eval data" in stale.stderr
    assert current(Registry(settings_for(promo.settings(), "prod")), "promo-model", "champion") is None
