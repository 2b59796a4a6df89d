"""Reference profiles are stored with each trained version and verified when read (fail closed)."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

from tests.conftest import Project
from tests.training.conftest import ml_project  # noqa: F401 - fixture reuse
from trunkml.datasets.profile import ReferenceProfile
from trunkml.errors import IntegrityError, NotFoundError
from trunkml.registry import Registry, lineage, register
from trunkml.registry.profiles import load_profile_text


def test_ct_stores_a_verified_profile_and_tampering_is_refused(ml_project: Project) -> None:  # noqa: F811
    assert ml_project.cli("ct", "demo-model").code == 0
    registry = Registry(ml_project.settings())
    profile = ReferenceProfile.model_validate_json(load_profile_text(registry, "demo-model", 1))
    assert profile.train_rows + profile.eval_rows == 600
    assert 0 < profile.label_prior < 1
    assert len(profile.eval_scores) == profile.eval_rows

    version = registry.client.get_model_version("demo-model", "1")
    artifacts = Path(registry.client.get_run(version.run_id).info.artifact_uri.removeprefix("file://"))
    stored = artifacts / lineage.PROFILE_ARTIFACT
    stored.write_text(stored.read_text().replace('"label_prior":', '"label_prior": 0.5, "x":', 1))
    with pytest.raises(IntegrityError, match="reference profile sha256 mismatch"):
        load_profile_text(registry, "demo-model", 1)
    stored.unlink()
    with pytest.raises(IntegrityError, match="missing"):
        load_profile_text(registry, "demo-model", 1)


def test_a_version_registered_without_a_profile_says_so(ml_project: Project) -> None:  # noqa: F811
    registry = Registry(ml_project.settings())
    registry.activate()
    with mlflow.start_run(experiment_id=registry.experiment_id("bare")) as run:
        mlflow.log_text("{}", "model/MLmodel")
    register(registry, "bare", f"{run.info.artifact_uri}/model", run.info.run_id, {})
    with pytest.raises(NotFoundError, match="has no reference profile"):
        load_profile_text(registry, "bare", 1)
