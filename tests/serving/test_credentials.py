"""Start-up refuses known default or empty credentials: the server and the registry connection say why."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.requests import Request

from trunkml.config import Settings
from trunkml.errors import ConfigError, Unauthorized
from trunkml.registry import Registry
from trunkml.serving.app import create_app
from trunkml.serving.auth import require_key
from trunkml.serving.spec import EndpointSpec


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "trunkml.yaml").write_text("name: p\nmodel: m\n", encoding="utf-8")
    for name in ("TRUNKML_API_KEY", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.mark.parametrize(("key", "why"), [("", "empty"), ("   ", "empty"), ("admin", "too short")])
def test_an_empty_or_guessable_api_key_is_refused(project: Path, key: str, why: str) -> None:
    settings = Settings(project=project, api_key=key)
    with pytest.raises(ConfigError, match=f"TRUNKML_API_KEY is set but {why}"):
        create_app(settings, EndpointSpec(model="m"))


def test_protecting_predict_without_a_key_is_refused(project: Path) -> None:
    spec = EndpointSpec.model_validate({"model": "m", "auth": {"protect_predict": True}})
    with pytest.raises(ConfigError, match="TRUNKML_API_KEY is not set"):
        create_app(Settings(project=project), spec)


def header_request(headers: dict[str, str]) -> Request:
    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    return Request({"type": "http", "method": "POST", "path": "/predict", "headers": raw})


def test_a_long_random_key_is_accepted(project: Path) -> None:
    key = "k3y-" + "x7" * 12  # pragma: allowlist secret
    spec = EndpointSpec.model_validate({"model": "m", "auth": {"protect_predict": True}})
    app = create_app(Settings(project=project, api_key=key), spec)
    assert app.title == "trunkml · m"
    secret = app.state.server.settings.api_key
    assert secret is not None
    assert secret.get_secret_value() == key  # the server holds the key as given, and checks requests with it
    require_key(header_request({"Authorization": f"Bearer {key}"}), secret.get_secret_value(), "predict")
    require_key(header_request({"X-API-Key": key}), secret.get_secret_value(), "predict")
    with pytest.raises(Unauthorized):
        require_key(header_request({"Authorization": "Bearer " + "y" * 28}), secret.get_secret_value(), "predict")


def test_mlflows_default_admin_password_is_refused(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "password1234")  # pragma: allowlist secret
    settings = Settings(project=project, mlflow_tracking_uri="http://127.0.0.1:9")
    with pytest.raises(ConfigError, match="MLflow's default admin password"):
        Registry(settings)  # refused before any connection is tried
    with pytest.raises(ConfigError, match="MLflow's default admin password"):
        create_app(settings, EndpointSpec(model="m"))  # the server refuses at start-up, not at its first poll
