"""SSH signatures: byte-compatible with `ssh-keygen -Y sign` / `-Y verify`, both ways, and tamper-evident."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from trunkml.approvals.sshsig import NAMESPACE, key_blob, public_line, sign_file, sign_with, verify
from trunkml.errors import IntegrityError

KEYGEN = shutil.which("ssh-keygen")
needs_keygen = pytest.mark.skipif(KEYGEN is None, reason="OpenSSH's ssh-keygen is not installed")
MESSAGE = b'{"model":"m","version":3}'


def make_key(kind: str) -> ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind == "ecdsa":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def write_key(folder: Path, key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> Path:
    path = folder / "id"
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    )
    path.chmod(0o600)
    (folder / "id.pub").write_text(public_line(key.public_key()) + "\n")
    return path


@needs_keygen
@pytest.mark.parametrize("kind", ["ed25519", "ecdsa", "rsa"])
def test_ssh_keygen_verifies_our_signatures(tmp_path: Path, kind: str) -> None:
    key = make_key(kind)
    (tmp_path / "statement").write_bytes(MESSAGE)
    (tmp_path / "statement.sig").write_text(sign_with(key, MESSAGE))
    (tmp_path / "allowed").write_text(f"ana {public_line(key.public_key())}\n")
    command = [str(KEYGEN), "-Y", "verify", "-f", str(tmp_path / "allowed"), "-I", "ana", "-n", NAMESPACE,
               "-s", str(tmp_path / "statement.sig")]  # fmt: skip
    done = subprocess.run(command, input=MESSAGE, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    tampered = subprocess.run(command, input=MESSAGE + b" ", capture_output=True, check=False)
    assert tampered.returncode != 0


@needs_keygen
@pytest.mark.parametrize("kind", ["ed25519", "ecdsa", "rsa"])
def test_we_verify_ssh_keygen_signatures(tmp_path: Path, kind: str) -> None:
    key = make_key(kind)
    path = write_key(tmp_path, key)
    target = tmp_path / "statement"
    target.write_bytes(MESSAGE)
    subprocess.run([str(KEYGEN), "-Y", "sign", "-f", str(path), "-n", NAMESPACE, str(target)],
                   check=True, capture_output=True)  # fmt: skip
    signature = (tmp_path / "statement.sig").read_text()
    assert verify(signature, MESSAGE) == key_blob(key.public_key())
    with pytest.raises(IntegrityError, match="changed after signing"):
        verify(signature, MESSAGE.replace(b"3", b"4"))


@needs_keygen
def test_a_passphrase_protected_key_is_signed_by_ssh_keygen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "id"
    subprocess.run([str(KEYGEN), "-q", "-t", "ed25519", "-N", "secret", "-f", str(path)], check=True)
    askpass = tmp_path / "askpass"
    askpass.write_text("#!/bin/sh\necho secret\n")
    askpass.chmod(0o700)
    monkeypatch.setenv("SSH_ASKPASS", str(askpass))  # ssh-keygen asks this program, as a desktop's agent would
    monkeypatch.setenv("SSH_ASKPASS_REQUIRE", "force")
    signed = sign_file(path, MESSAGE)
    blob = (tmp_path / "id.pub").read_text().split()[1]
    assert verify(signed, MESSAGE) == base64.b64decode(blob)
    monkeypatch.setenv("SSH_ASKPASS", "/bin/false")  # a wrong or refused passphrase: a clear error
    with pytest.raises(Exception, match="could not sign"):
        sign_file(path, MESSAGE)


def test_namespace_key_and_armor_are_checked(tmp_path: Path) -> None:
    key = make_key("ed25519")
    signed = sign_file(write_key(tmp_path, key), MESSAGE)
    assert verify(signed, MESSAGE) == key_blob(key.public_key())
    with pytest.raises(IntegrityError, match="namespace 'git'"):
        verify(sign_with(key, MESSAGE, namespace="git"), MESSAGE)
    with pytest.raises(IntegrityError, match="armor"):
        verify("not a signature", MESSAGE)
    lines = signed.splitlines()
    broken = "\n".join([lines[0], lines[1][:-4] + "AAAA", *lines[2:]])
    with pytest.raises(IntegrityError):
        verify(broken, MESSAGE)
