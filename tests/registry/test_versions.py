"""Refs resolve the way the CLI documents: @alias, latest, N, sha:<prefix>."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Project
from tests.training.conftest import ml_project  # noqa: F401 - fixture reuse
from trunkml.config import Settings
from trunkml.errors import NotFoundError, UsageError
from trunkml.registry import Registry, register, resolve_version, show


def test_refs(ml_project: Project) -> None:  # noqa: F811
    assert ml_project.cli("ct", "demo-model").code == 0
    assert ml_project.cli("train", "demo-model", "--param", "C=1").code == 0
    registry = Registry(ml_project.settings())
    assert int(resolve_version(registry, "demo-model", "latest").version) == 2
    assert int(resolve_version(registry, "demo-model", "@challenger").version) == 2
    assert int(resolve_version(registry, "demo-model", "1").version) == 1
    sha = show(registry, "demo-model", "1").git_sha
    assert sha is not None
    # sha:<prefix> names the version CT trained at that commit, not a later experiment
    assert int(resolve_version(registry, "demo-model", f"sha:{sha[:7]}").version) == 1
    assert int(resolve_version(registry, "demo-model", f"sha:{sha[:7].upper()}").version) == 1
    with pytest.raises(NotFoundError, match="no version with alias @champion"):
        resolve_version(registry, "demo-model", "@champion")
    with pytest.raises(NotFoundError, match="has no version 9"):
        resolve_version(registry, "demo-model", "9")
    with pytest.raises(NotFoundError, match="commit starting with"):
        resolve_version(registry, "demo-model", "sha:abcdef0")
    with pytest.raises(UsageError, match="bad model ref"):
        resolve_version(registry, "demo-model", "champion")
    with pytest.raises(NotFoundError, match="no versions yet"):
        resolve_version(registry, "other-model", "latest")


def test_registering_works_after_another_registry_was_opened(ml_project: Project, tmp_path: Path) -> None:  # noqa: F811
    assert ml_project.cli("ct", "demo-model").code == 0
    registry = Registry(ml_project.settings())
    base = registry.client.get_model_version("demo-model", "1")
    assert str(base.source).startswith("models:/m-")
    Registry(Settings(project=ml_project.root, home=tmp_path / "other"))  # one process, two stores
    copy = register(registry, "demo-copy", str(base.source), str(base.run_id), dict(base.tags or {}))
    assert copy == 1
    assert registry.client.get_model_version("demo-copy", "1").source == base.source


def test_redact_hides_passwords() -> None:
    from trunkml.registry.connection import redact

    uri = "postgresql://u:secret@db:5432/mlflow"  # pragma: allowlist secret
    assert redact(uri) == "postgresql://u:***@db:5432/mlflow"
    assert redact("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
