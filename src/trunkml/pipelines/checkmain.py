"""check-main: is every model-changing commit on main backed by exactly one registered version?

The trigger paths come from the job spec: the job's folder, the package of its entrypoint,
and the pointers of its dataset inputs (and of their parents, for ``split:`` parts). Every
commit on the first-parent history of the revision that touches them must have exactly one
CT version with its SHA; every registered version's SHA must be on that history, or it is
flagged.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from trunkml.config import Settings
from trunkml.errors import UnavailableError, UsageError
from trunkml.registry import Registry, lineage, list_records
from trunkml.training.jobspec import load_job
from trunkml.training.watched import trigger_paths


class Gap(BaseModel):
    """A commit without exactly one CT version."""

    model_config = ConfigDict(frozen=True)

    sha: str
    subject: str
    versions: list[int]


class CheckMainResult(BaseModel):
    """What check-main found."""

    model_config = ConfigDict(frozen=True)

    model: str
    rev: str
    paths: list[str]
    commits_checked: int
    gaps: list[Gap]
    off_main: list[dict[str, object]]
    backfill: list[str]

    @property
    def ok(self) -> bool:
        """True when every triggering commit has exactly one CT version."""
        return not self.gaps


def _git(root: Path, *args: str) -> list[str]:
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False, timeout=60)  # noqa: S603, S607
    except FileNotFoundError as exc:
        raise UnavailableError("check-main needs git on PATH") from exc
    if done.returncode != 0:
        raise UsageError(f"git {' '.join(args[:2])} failed: {done.stderr.strip()[:300]}")
    return [line for line in done.stdout.splitlines() if line]


def check_main(settings: Settings, job_name: str, rev: str = "main", since: str | None = None) -> CheckMainResult:
    """Compare the first-parent history of ``rev`` with the registry, both ways."""
    root = settings.project_root
    model = load_job(root, job_name).spec.model
    paths = trigger_paths(settings, job_name)
    span = f"{since}..{rev}" if since else rev
    commits = _git(root, "log", "--first-parent", "--format=%H %s", span, "--", *paths)
    mainline = set(_git(root, "rev-list", "--first-parent", rev))
    records = list_records(Registry(settings), model)
    by_sha: dict[str, list[int]] = {}
    for record in records:
        if record.kind == lineage.KIND_CT and record.git_sha:
            by_sha.setdefault(record.git_sha, []).append(record.version)
    gaps = []
    for line in commits:
        sha, _, subject = line.partition(" ")
        if len(by_sha.get(sha, [])) != 1:
            gaps.append(Gap(sha=sha, subject=subject, versions=sorted(by_sha.get(sha, []))))
    off_main = [
        {"version": r.version, "git_sha": r.git_sha, "kind": r.kind} for r in records if r.git_sha not in mainline
    ]
    backfill = [
        f"git worktree add ../backfill-{g.sha[:8]} {g.sha} && (cd ../backfill-{g.sha[:8]} && trunkml ct {job_name})"
        for g in gaps
        if not g.versions
    ]
    return CheckMainResult(
        model=model, rev=rev, paths=paths, commits_checked=len(commits), gaps=gaps, off_main=off_main, backfill=backfill
    )
