"""Settings: documented defaults, environment overrides, paths relative to the project."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Project
from trunkml.config import Environment, Settings, find_project_root


def test_defaults_live_under_the_project(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRUNKML_HOME")
    settings = Settings()
    assert settings.project_root == project.root
    assert settings.home_dir == project.root / ".trunkml"
    assert settings.env is Environment.DEV
    assert settings.tracking_uri == f"sqlite:///{project.root / '.trunkml' / 'mlflow.db'}"
    assert settings.mirror_dir is None
    assert settings.datastore_dir == project.root / ".trunkml" / "datastore"


def test_environment_overrides(project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRUNKML_ENV", "prod")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    monkeypatch.setenv("TRUNKML_DATA_MIRROR", "mirror")
    monkeypatch.setenv("TRUNKML_API_KEY", "s3cret")
    settings = Settings()
    assert settings.env is Environment.PROD
    assert settings.tracking_uri == "http://127.0.0.1:5000"
    assert settings.mirror_dir == project.root / "mirror"
    assert settings.api_key is not None
    assert "s3cret" not in repr(settings)


def test_empty_mirror_means_no_mirror(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUNKML_DATA_MIRROR", "")
    assert Settings().mirror_dir is None


def test_project_root_is_found_from_a_subfolder(tmp_path: Path) -> None:
    (tmp_path / "trunkml.yaml").write_text("name: x\n", encoding="utf-8")
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    assert find_project_root(sub) == tmp_path.resolve()


def test_bad_environment_value_is_a_usage_error(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUNKML_ENV", "staging")
    result = project.cli("data", "list")
    assert result.code == 2
    assert "TRUNKML_ENV" in result.stderr
