"""Ed25519 signatures over a version's artifact digest manifest.

With ``TRUNKML_SIGNING_KEY`` (a PEM private key file) set where versions are registered (CT),
each new version carries a signature of its manifest: the model name, the model digest and every
file's sha256. With ``TRUNKML_VERIFY_KEY`` (the matching PEM public key) set where versions are
loaded (the server, the gate, promotion, scoring), a version loads only if the signature verifies
against the digests of the files actually downloaded. Someone who can write to the registry can
change files and digest tags, but cannot sign without the private key.

Make a key pair with OpenSSL::

    openssl genpkey -algorithm ed25519 -out signing.pem
    openssl pkey -in signing.pem -pubout -out verify.pem
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from trunkml.errors import ConfigError, IntegrityError

SIGNATURE = "trunkml.signature"
SIGNED_BY = "trunkml.signature.key"


def manifest(name: str, model_digest: str, artifact_digests: dict[str, str]) -> bytes:
    """The signed bytes: canonical JSON of the model name, its digest and every file's sha256."""
    document = {"model": name, "model_digest": model_digest, "files": dict(sorted(artifact_digests.items()))}
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the {what} {path}: {exc.strerror}") from exc


def load_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(_read(path, "signing key"), password=None)
    except (TypeError, ValueError) as exc:  # encrypted, or not a PEM private key
        raise ConfigError(
            f"{path} is not a usable signing key: {exc}", hint="an unencrypted PEM Ed25519 key (openssl genpkey)"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{path} is not an Ed25519 private key", hint="openssl genpkey -algorithm ed25519")
    return key


def load_public(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(_read(path, "verify key"))
    except ValueError as exc:
        raise ConfigError(f"{path} is not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"{path} is not an Ed25519 public key", hint="openssl pkey -in signing.pem -pubout")
    return key


def fingerprint(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


def sign(key_path: Path, document: bytes) -> dict[str, str]:
    """The version tags that carry the signature of ``document``."""
    key = load_private(key_path)
    return {SIGNATURE: base64.b64encode(key.sign(document)).decode(), SIGNED_BY: fingerprint(key.public_key())}


def verify(key_path: Path, document: bytes, tags: dict[str, str], what: str) -> None:
    """Raise IntegrityError unless ``tags`` carry a valid signature of ``document`` by ``key_path``'s key."""
    key = load_public(key_path)
    signature = tags.get(SIGNATURE)
    if not signature:
        raise IntegrityError(
            f"{what} is not signed, and this deployment requires signatures (TRUNKML_VERIFY_KEY)",
            hint="register it through `trunkml ct` with TRUNKML_SIGNING_KEY set",
        )
    try:
        key.verify(base64.b64decode(signature, validate=True), document)
    except (InvalidSignature, ValueError) as exc:
        raise IntegrityError(
            f"{what}: the signature does not match its files (signed by {tags.get(SIGNED_BY, 'an unknown key')}, "
            f"verified with {fingerprint(key)})",
            hint="its files or digests changed after signing, or it was signed with another key; do not use it",
        ) from exc
