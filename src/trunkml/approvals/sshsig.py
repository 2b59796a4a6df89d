"""SSH signatures (the ``SSHSIG`` format of ``ssh-keygen -Y sign``, which git uses for signed commits).

An approval is signed with the approver's own SSH key and verified against an allowed-signers file,
exactly as ``git verify-commit`` does with ``gpg.ssh.allowedSignersFile``. The format is OpenSSH's
``PROTOCOL.sshsig``; it is small, so it is implemented here on ``cryptography`` rather than by running
``ssh-keygen``: the server verifies approvals on every champion swap and its image carries no OpenSSH.
The tests check byte compatibility both ways against ``ssh-keygen -Y sign`` / ``-Y verify``.

Keys: Ed25519, ECDSA (P-256/384/521) and RSA (signed with rsa-sha2-512). A passphrase-protected key
or a security-key (``sk-``) key is signed by ``ssh-keygen`` itself, which can ask for the passphrase or
talk to the agent and the token; verification of ``sk-`` signatures is not supported and says so.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from trunkml.errors import ConfigError, IntegrityError

MAGIC = b"SSHSIG"
VERSION = 1
NAMESPACE = "trunkml-approval"
BEGIN, END = "-----BEGIN SSH SIGNATURE-----", "-----END SSH SIGNATURE-----"
HASHES = {"sha512": hashlib.sha512, "sha256": hashlib.sha256}
CURVES = {
    "nistp256": (ec.SECP256R1, hashes.SHA256),
    "nistp384": (ec.SECP384R1, hashes.SHA384),
    "nistp521": (ec.SECP521R1, hashes.SHA512),
}
PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey
PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _mpint(value: int) -> bytes:
    raw = value.to_bytes((value.bit_length() + 8) // 8, "big") if value else b""
    return _string(raw)


class _Reader:
    """Reads SSH wire-format fields, refusing truncated or trailing data."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, n: int) -> bytes:
        if self.at + n > len(self.data):
            raise IntegrityError("the SSH signature is truncated")
        chunk, self.at = self.data[self.at : self.at + n], self.at + n
        return chunk

    def string(self) -> bytes:
        (length,) = struct.unpack(">I", self.take(4))
        return self.take(length)

    def end(self) -> None:
        if self.at != len(self.data):
            raise IntegrityError("the SSH signature has trailing data")


def key_blob(key: PublicKey) -> bytes:
    """The key's SSH wire encoding (the base64 part of an ``authorized_keys`` line, decoded)."""
    line = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return base64.b64decode(line.split()[1])


def public_line(key: PublicKey) -> str:
    """``ssh-ed25519 AAAA…``: the key as an allowed-signers or ``authorized_keys`` line has it."""
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def fingerprint(blob: bytes) -> str:
    """OpenSSH's ``SHA256:…`` fingerprint of a key blob, as ``ssh-keygen -l`` prints it."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def _signed_data(namespace: str, hash_name: str, message: bytes) -> bytes:
    digest = HASHES[hash_name](message).digest()
    return MAGIC + _string(namespace.encode()) + _string(b"") + _string(hash_name.encode()) + _string(digest)


def _raw_signature(key: PrivateKey, data: bytes) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return _string(b"ssh-ed25519") + _string(key.sign(data))
    if isinstance(key, rsa.RSAPrivateKey):
        return _string(b"rsa-sha2-512") + _string(key.sign(data, padding.PKCS1v15(), hashes.SHA512()))
    curve = _curve_name(key.public_key())
    if curve is None:
        raise ConfigError(f"unsupported ECDSA curve {key.curve.name}")
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(CURVES[curve][1]())))
    return _string(f"ecdsa-sha2-{curve}".encode()) + _string(_mpint(r) + _mpint(s))


def armor(blob: bytes) -> str:
    text = base64.b64encode(blob).decode()
    return "\n".join([BEGIN, *(text[i : i + 70] for i in range(0, len(text), 70)), END]) + "\n"


def sign_with(key: PrivateKey, message: bytes, namespace: str = NAMESPACE) -> str:
    """The armored SSH signature of ``message`` by ``key`` in ``namespace``."""
    blob = MAGIC + struct.pack(">I", VERSION) + _string(key_blob(key.public_key()))
    blob += _string(namespace.encode()) + _string(b"") + _string(b"sha512")
    blob += _string(_raw_signature(key, _signed_data(namespace, "sha512", message)))
    return armor(blob)


def sign_file(key_path: Path, message: bytes, namespace: str = NAMESPACE) -> str:
    """Sign ``message`` with the private key file at ``key_path`` (``ssh-keygen`` for protected or sk- keys)."""
    try:
        data = key_path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the signing key {key_path}: {exc.strerror}") from exc
    try:
        key = serialization.load_ssh_private_key(data, password=None)
    except (TypeError, ValueError, UnsupportedAlgorithm):  # passphrase, security key, or not OpenSSH format
        return _sign_with_ssh_keygen(key_path, message, namespace)
    if not isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ConfigError(f"{key_path} is not an Ed25519, ECDSA or RSA key")
    return sign_with(key, message, namespace)


def _sign_with_ssh_keygen(key_path: Path, message: bytes, namespace: str) -> str:
    program = shutil.which("ssh-keygen")
    if program is None:
        raise ConfigError(
            f"{key_path} is protected or a security key, and ssh-keygen is not installed to sign with it",
            hint="install OpenSSH's client, or sign with an unencrypted Ed25519 key",
        )
    with tempfile.TemporaryDirectory(prefix="trunkml-sign-") as scratch:
        target = Path(scratch) / "statement"
        target.write_bytes(message)
        done = subprocess.run(  # noqa: S603
            [program, "-Y", "sign", "-f", str(key_path), "-n", namespace, str(target)],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        signature = target.with_suffix(".sig")
        if done.returncode != 0 or not signature.is_file():
            raise ConfigError(f"ssh-keygen could not sign with {key_path}: {done.stderr.strip()[:300]}")
        return signature.read_text(encoding="ascii")


def _public_key(blob: bytes) -> PublicKey:
    kind = _Reader(blob).string().decode(errors="replace")
    if kind.startswith("sk-"):
        raise IntegrityError(f"security-key ({kind}) signatures cannot be verified here", hint="sign with a file key")
    try:
        key = serialization.load_ssh_public_key(f"{kind} {base64.b64encode(blob).decode()}".encode())
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise IntegrityError(f"the signature's key ({kind}) cannot be read: {exc}") from exc
    if not isinstance(key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise IntegrityError(f"unsupported key type {kind}")
    return key


def _curve_name(key: ec.EllipticCurvePublicKey) -> str | None:
    return {"secp256r1": "nistp256", "secp384r1": "nistp384", "secp521r1": "nistp521"}.get(key.curve.name)


def _check(key: PublicKey, raw: bytes, data: bytes) -> None:
    reader = _Reader(raw)
    algorithm, signature = reader.string().decode(errors="replace"), reader.string()
    reader.end()
    if isinstance(key, ed25519.Ed25519PublicKey) and algorithm == "ssh-ed25519":
        key.verify(signature, data)
    elif isinstance(key, rsa.RSAPublicKey) and algorithm in {"rsa-sha2-512", "rsa-sha2-256"}:
        chosen = hashes.SHA512() if algorithm.endswith("512") else hashes.SHA256()
        key.verify(signature, data, padding.PKCS1v15(), chosen)
    elif isinstance(key, ec.EllipticCurvePublicKey) and algorithm == f"ecdsa-sha2-{_curve_name(key)}":
        parts = _Reader(signature)
        r, s = int.from_bytes(parts.string(), "big"), int.from_bytes(parts.string(), "big")
        parts.end()
        key.verify(encode_dss_signature(r, s), data, ec.ECDSA(CURVES[algorithm.removeprefix("ecdsa-sha2-")][1]()))
    else:
        raise IntegrityError(f"signature algorithm {algorithm} does not fit the key")


def verify(armored: str, message: bytes, namespace: str = NAMESPACE) -> bytes:
    """Check an armored SSH signature of ``message`` in ``namespace``; returns the signing key's blob.

    Who may sign is the caller's question (see ``approvals.signers``): this only proves that the key
    inside the signature signed exactly ``message`` for ``namespace``.
    """
    body = armored.strip()
    if not (body.startswith(BEGIN) and body.endswith(END)):
        raise IntegrityError("not an SSH signature (no BEGIN/END SSH SIGNATURE armor)")
    try:
        blob = base64.b64decode("".join(body[len(BEGIN) : -len(END)].split()), validate=True)
    except ValueError as exc:
        raise IntegrityError("the SSH signature is not valid base64") from exc
    reader = _Reader(blob)
    if reader.take(6) != MAGIC or struct.unpack(">I", reader.take(4))[0] != VERSION:
        raise IntegrityError("not an SSHSIG version 1 signature")
    key_bytes, signed_namespace = reader.string(), reader.string().decode(errors="replace")
    reader.string()  # reserved
    hash_name, raw = reader.string().decode(errors="replace"), reader.string()
    reader.end()
    if signed_namespace != namespace:
        raise IntegrityError(f"the signature is for namespace '{signed_namespace}', not '{namespace}'")
    if hash_name not in HASHES:
        raise IntegrityError(f"unsupported signature hash {hash_name}")
    try:
        _check(_public_key(key_bytes), raw, _signed_data(namespace, hash_name, message))
    except InvalidSignature as exc:
        raise IntegrityError("the signature does not match the statement: it was changed after signing") from exc
    except (ValueError, TypeError) as exc:  # malformed numbers or key material inside the signature
        raise IntegrityError(f"the SSH signature is malformed: {exc}") from exc
    return key_bytes
