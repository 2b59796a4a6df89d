"""`make lint` refuses credential-looking values in the project's YAML, TOML and JSON files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "check_secrets.py"


def check(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, paths)], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=120)  # fmt: skip


def test_the_project_itself_is_clean() -> None:
    for scope in ([], ["--all-files"]):  # what make lint checks, and what the CI secrets scan checks
        done = subprocess.run([sys.executable, str(SCRIPT), *scope], capture_output=True, text=True, cwd=REPO_ROOT,
                              timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "no credential-looking values" in done.stdout


def test_planted_fake_credentials_are_caught_with_file_and_line(tmp_path: Path) -> None:
    clean = tmp_path / "endpoint.yaml"
    clean.write_text("model: m\nsha256: " + "ab" * 32 + "\n", encoding="utf-8")  # digests are not secrets
    assert check(clean).returncode == 0
    planted = {  # fake values, planted on purpose  # pragma: allowlist secret
        "deploy.yaml": "env:\n  AWS_ACCESS_KEY_ID: AKIAZ7QXD4NVHP3LB2WE\n",  # pragma: allowlist secret
        "settings.toml": '[db]\npassword = "Tr0ub4dor-and-3-horses"\n',  # pragma: allowlist secret
        "webhook.json": '{"api_key": "sk_live_51H8fakekeyQ2xX9vLmN0pR7tY"}\n',  # pragma: allowlist secret
    }
    for name, text in planted.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        done = check(tmp_path / name)
        assert done.returncode == 1, (name, done.stdout)
        assert f"{tmp_path / name}:" in done.stderr
    everything = check(tmp_path)
    assert everything.returncode == 1
    assert sum(f"{tmp_path / name}:" in everything.stderr for name in planted) == 3
