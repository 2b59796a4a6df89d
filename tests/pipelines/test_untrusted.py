"""Untrusted artifacts: only versions whose files match what was registered, approved and signed ever load.

Each hostile model here would write a marker file the moment its code ran; the marker never appears.
"""

from __future__ import annotations

import json
import pickle
import warnings
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.conftest import Project
from trunkml.errors import CandidateRefused, IntegrityError
from trunkml.registry import Registry
from trunkml.registry import lineage as tags
from trunkml.registry.artifacts import VerifiedModel, file_digests, model_digest
from trunkml.serving.served_model import load_candidate

MODEL = "promo-model"


class Marker:
    """Unpickling this runs code: it writes ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (exec, (f"open({str(self.path)!r}, 'w').write('pwned')",))


def keys(folder: Path) -> tuple[Path, Path]:
    private = Ed25519PrivateKey.generate()
    signing, verify = folder / "signing.pem", folder / "verify.pem"
    signing.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))  # fmt: skip
    verify.write_bytes(private.public_key().public_bytes(serialization.Encoding.PEM,
                                                         serialization.PublicFormat.SubjectPublicKeyInfo))  # fmt: skip
    return signing, verify


def stored_files(registry: Registry, version: int) -> Path:
    """Where the registry keeps a version's model files (the local artifact store)."""
    details = registry.client.get_model_version(MODEL, str(version))
    model_id = details.model_id or str(details.source).removeprefix("models:/").split("/")[0]
    location = registry.client.get_logged_model(model_id).artifact_location
    return Path(unquote(urlsplit(location).path))


def tamper(registry: Registry, version: int, marker: Path) -> None:
    """What someone with write access to the store and the registry can do: swap the model's code for code that
    runs on load, and rewrite the recorded digests to match."""
    folder = stored_files(registry, version)
    code = next(folder.rglob("pyfunc_model.py"))
    code.write_text(f"open({str(marker)!r}, 'w').write('pwned')\n" + code.read_text(encoding="utf-8"), "utf-8")
    digests = file_digests(folder)
    registry.client.set_model_version_tag(MODEL, str(version), tags.ARTIFACT_DIGESTS, json.dumps(digests))
    registry.client.set_model_version_tag(MODEL, str(version), tags.MODEL_DIGEST, model_digest(digests))


def refused(registry: Registry, version: int, expected: str) -> None:
    with pytest.raises(IntegrityError, match=expected):
        VerifiedModel(registry, MODEL, version)
    with pytest.raises(CandidateRefused, match=expected):  # what `trunkml serve` runs before a swap
        load_candidate(registry, MODEL, version, "champion", "@champion")


def test_a_model_tampered_after_approval_never_loads(promo: Project, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    assert promo.cli("evaluate", "--challenger", "1").code == 0
    assert promo.cli("approve", "1", "--key", str(promo.signer("reviewer"))).code == 0
    registry = Registry(promo.settings())
    VerifiedModel(registry, MODEL, 1).close()  # intact: loads
    tamper(registry, 1, marker)
    refused(registry, 1, "is not the model that was approved")
    promoted = promo.cli("promote", "1", "--by", "reviewer")
    assert promoted.code == 1
    assert "is not the model that was approved" in promoted.stderr
    assert not marker.exists()


def test_with_a_verify_key_only_signed_untampered_versions_load(
    promo: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "marker"
    signing, verify = keys(tmp_path)
    monkeypatch.setenv("TRUNKML_SIGNING_KEY", str(signing))
    assert promo.cli("train", "promo-model", "--input", "train=pool-train", "--param", "C=2.0").code == 0  # v3
    monkeypatch.delenv("TRUNKML_SIGNING_KEY")
    monkeypatch.setenv("TRUNKML_VERIFY_KEY", str(verify))
    registry = Registry(promo.settings())
    assert registry.client.get_model_version(MODEL, "3").tags["trunkml.signature.key"].startswith("ed25519:")
    VerifiedModel(registry, MODEL, 3).close()  # signed and intact: loads
    refused(registry, 2, "is not signed")  # trained without the key
    tamper(registry, 3, marker)  # digests rewritten to match, no approval to contradict them: the signature does
    refused(registry, 3, "the signature does not match its files")
    (tmp_path / "other").mkdir()
    _, other = keys(tmp_path / "other")  # a key that did not sign it
    monkeypatch.setenv("TRUNKML_VERIFY_KEY", str(other))
    refused(Registry(promo.settings()), 3, "the signature does not match")
    assert not marker.exists()


def test_a_pickled_model_registered_outside_trunkml_never_loads(promo: Project, tmp_path: Path) -> None:
    import mlflow
    from mlflow.pyfunc import PythonModel

    class Echo(PythonModel):
        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]  # no hints: MLflow reads them
            return model_input

    marker = tmp_path / "marker"
    registry = Registry(promo.settings())
    registry.activate()
    with mlflow.start_run() as run, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # MLflow asks for type hints; this model has none on purpose
        info = mlflow.pyfunc.log_model(name="model", python_model=Echo(), pip_requirements=["mlflow"])
    folder = Path(unquote(urlsplit(registry.client.get_logged_model(info.model_id).artifact_location).path))
    (folder / "python_model.pkl").write_bytes(pickle.dumps(Marker(marker)))  # a pickle that runs code on load
    created = registry.client.create_model_version(MODEL, info.model_uri, run_id=run.info.run_id,
                                                   model_id=info.model_id)  # fmt: skip
    registry.client.set_registered_model_alias(MODEL, "champion", created.version)
    refused(registry, int(created.version), "has no recorded artifact digests")
    assert not marker.exists()
