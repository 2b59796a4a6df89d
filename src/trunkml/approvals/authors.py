"""Who wrote a version: every author and committer of every commit since the champion that touched its job.

Only HEAD's author is not enough: a merge commit's author is whoever merged, and a change is
often several people's commits. So the people a reviewer must not be are read from git, over
``<champion's commit>..<version's commit> -- <the job's paths>`` (the job folder, its code, its
dataset pointers), through the repository's ``.mailmap`` as git itself applies it. Without a
champion, every commit that ever touched the job counts. A checkout that lacks either commit
(a shallow clone) is refused rather than guessed: fetch the full history.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import NamedTuple

from trunkml.config import Settings
from trunkml.errors import RefusedError, UnavailableError
from trunkml.registry import ModelVersionRecord
from trunkml.training.watched import trigger_paths

FORMAT = "%aN <%aE>%x00%cN <%cE>"


class Authors(NamedTuple):
    """The people behind a version's change, as git records them (``Name <email>``)."""

    people: tuple[str, ...]
    commits: int
    span: str


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        # git from PATH with fixed arguments: the repository is the user's own project.
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False, timeout=60)  # noqa: S603, S607
    except FileNotFoundError as exc:
        raise UnavailableError("git is not installed", hint="the author check reads the project's history") from exc


def _known(root: Path, sha: str, what: str) -> None:
    if _git(root, "cat-file", "-e", f"{sha}^{{commit}}").returncode != 0:
        raise RefusedError(
            f"the {what}'s commit {sha[:12]} is not in this checkout, so its authors cannot be checked",
            hint="fetch the full history (actions/checkout with fetch-depth: 0, or `git fetch --unshallow`)",
        )


def authors_since(settings: Settings, record: ModelVersionRecord, champion: ModelVersionRecord | None) -> Authors:
    """Every author and committer of the commits since ``champion`` that touched ``record``'s job."""
    root = settings.project_root
    if not record.git_sha or not record.job:
        raise RefusedError(f"{record.ref} has no commit or job in its lineage, so its authors are unknown")
    _known(root, record.git_sha, f"{record.ref}")
    span = record.git_sha
    if champion is not None and champion.git_sha:
        _known(root, champion.git_sha, f"champion {champion.ref}")
        span = f"{champion.git_sha}..{record.git_sha}"
    done = _git(root, "log", f"--format={FORMAT}", span, "--", *trigger_paths(settings, record.job))
    if done.returncode != 0:
        raise UnavailableError(f"git log {span} failed: {done.stderr.strip()[:300]}")
    lines = [line for line in done.stdout.splitlines() if line]
    people = {person.strip() for line in lines for person in line.split("\x00") if person.strip()}
    if record.git_author:
        people.add(record.git_author)
    return Authors(tuple(sorted(people)), len(lines), span)
