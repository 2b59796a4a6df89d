"""Fail if a YAML, TOML or JSON file of the project holds a credential-looking value (`make lint` runs this).

Uses detect-secrets' detectors (AWS, GitHub, Slack, private keys, passwords and tokens under
keyword-like keys, high-entropy base64, ...). The hex-entropy detector is off: dataset pointers and
locks are full of sha256 digests, which are not secrets.

    python scripts/check_secrets.py            # the project's files (tracked or new, not ignored)
    python scripts/check_secrets.py DIR_OR_FILE ...
    python scripts/check_secrets.py --all-files   # every file, any type (the CI secrets scan)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from detect_secrets import SecretsCollection
from detect_secrets.settings import default_settings, get_settings

SUFFIXES = (".yaml", ".yml", ".toml", ".json")


def candidates(arguments: list[str], any_type: bool = False) -> list[str]:
    if not arguments:
        command = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]  # tracked + new, not ignored
        listed = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603 - git on PATH
        return sorted(
            name for name in listed.split("\0") if (any_type or name.endswith(SUFFIXES)) and Path(name).is_file()
        )
    found: list[str] = []
    for argument in map(Path, arguments):
        if not argument.exists():
            raise SystemExit(f"check_secrets: {argument} does not exist")
        paths = argument.rglob("*") if argument.is_dir() else [argument]
        found += [str(path) for path in paths if path.is_file() and path.name.endswith(SUFFIXES)]
    return sorted(found)


def main(arguments: list[str]) -> int:
    any_type = "--all-files" in arguments
    files = candidates([a for a in arguments if a != "--all-files"], any_type)
    secrets = SecretsCollection()
    with default_settings():
        get_settings().disable_plugins("HexHighEntropyString")
        secrets.scan_files(*files)
    # detect-secrets may report a file relative to the working directory ("../x.yaml"): name it as it was given.
    given = {os.path.abspath(name): name for name in files}
    findings = sorted(
        (given.get(os.path.abspath(name), name), secret.line_number, secret.type) for name, secret in secrets
    )
    for name, line, kind in findings:
        print(f"{name}:{line}: {kind}", file=sys.stderr)
    if findings:
        print(f"{len(findings)} credential-looking value(s): put secrets in the environment, never in files",
              file=sys.stderr)  # fmt: skip
        return 1
    print(f"no credential-looking values in {len(files)} {'' if any_type else 'YAML/TOML/JSON '}file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
