"""Path triggers: which pipelines a change between two commits runs.

The rules live in ``trunkml.yaml`` (``pipelines.triggers``; defaults in
:data:`~trunkml.config.project.DEFAULT_TRIGGERS`). The changed files come from a
real ``git diff`` between the two revisions (for a pull request, from their merge
base, as GitHub compares). A rule with ``job_paths`` also watches every job's own
paths: its folder, its code package and the pointers of the datasets it reads, so
a new version of a dataset a job trains on retrains that job, and no other.
"""

from __future__ import annotations

import re
import subprocess
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from trunkml.config import Settings, load_project
from trunkml.config.project import Event, TriggerRule
from trunkml.errors import UnavailableError, UsageError
from trunkml.training.watched import trigger_paths

ORDER = ("workspace-cd", "environment-ci", "environment-cd", "model-ci", "model-ct", "model-cd")
"""Dependency order: stores, then environments, then models; model-cd follows a model-ct that registered."""
NO_COMMIT = re.compile(r"^0{40}$")  # what GitHub sends as `before` for a new branch


class Triggered(BaseModel):
    """Why one pipeline runs: the changed files its rule matched, and for model pipelines, which jobs."""

    model_config = ConfigDict(frozen=True)

    pipeline: str
    files: list[str]
    jobs: list[str] = []


class TriggerResult(BaseModel):
    """What a change triggers, in the order the local runner would run it."""

    model_config = ConfigDict(frozen=True)

    base: str
    head: str
    event: Event
    changed: list[str]
    pipelines: list[Triggered]

    @property
    def names(self) -> list[str]:
        """The triggered pipelines' names, in dependency order."""
        return [p.pipeline for p in self.pipelines]


@lru_cache(maxsize=256)
def _pattern(glob: str) -> re.Pattern[str]:
    """A path glob as a regex: '**' crosses folders, '*' and '?' do not; a plain path also covers its folder."""
    parts = re.split(r"(\*\*/|\*\*|\*|\?)", glob.strip("/"))
    translate = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
    body = "".join(translate.get(part, re.escape(part)) for part in parts)
    if not any(char in glob for char in "*?"):
        body += "(?:/.*)?"
    return re.compile(body + r"\Z")


def matches(path: str, globs: list[str] | tuple[str, ...]) -> bool:
    """True when ``path`` (relative, '/'-separated) matches any of ``globs``."""
    return any(_pattern(glob).match(path) for glob in globs)


def _git(root: Path, *args: str) -> list[str]:
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=60, check=False)  # noqa: S603, S607
    except FileNotFoundError as exc:
        raise UnavailableError("triggers need git on PATH") from exc
    except subprocess.TimeoutExpired as exc:
        raise UnavailableError(f"git {' '.join(args[:2])} did not finish within 60 s") from exc
    if done.returncode != 0:
        raise UsageError(f"git {' '.join(args)} failed: {done.stderr.strip()[:300]}", hint="check --base and --head")
    return [line for line in done.stdout.split("\0") if line]


def changed_files(root: Path, base: str, head: str, event: Event) -> list[str]:
    """Files that differ between ``base`` and ``head`` (for a pull request, from their merge base)."""
    if NO_COMMIT.match(base):  # a new branch: everything at head counts as changed
        return sorted(_git(root, "ls-tree", "-r", "-z", "--name-only", head))
    span = f"{base}...{head}" if event == "pull_request" else f"{base}..{head}"
    return sorted(_git(root, "diff", "--name-only", "-z", "--no-renames", span, "--"))


def job_names(root: Path) -> list[str]:
    """Every job of the project (``jobs/<name>/train.yaml``)."""
    return sorted(path.parent.name for path in (root / "jobs").glob("*/train.yaml"))


def job_globs(settings: Settings) -> dict[str, list[str]]:
    """Each job's own paths as globs (a folder ``d`` becomes ``d/**``)."""
    root = settings.project_root
    return {
        job: [f"{path}/**" if (root / path).is_dir() else path for path in trigger_paths(settings, job)]
        for job in job_names(root)
    }


def rule_globs(rule: TriggerRule, jobs: dict[str, list[str]]) -> list[str]:
    """All globs a rule watches (what a CI path filter for it must list)."""
    globs = set(rule.paths)
    if rule.job_paths:
        globs |= {glob for paths in jobs.values() for glob in paths}
    folders = {glob.removesuffix("**") for glob in globs if glob.endswith("/**")}
    return sorted(g for g in globs if not any(g != f + "**" and g.startswith(f) for f in folders))


def triggered(settings: Settings, base: str, head: str, event: Event) -> TriggerResult:
    """The pipelines the change ``base``..``head`` triggers for ``event``, with the files behind each."""
    root = settings.project_root
    rules = load_project(root).pipelines.triggers
    changed = changed_files(root, base, head, event)
    jobs = job_globs(settings)
    found: list[Triggered] = []
    for name in ORDER:
        rule = rules.get(name)  # type: ignore[call-overload]
        if name == "model-cd":
            ct = next((p for p in found if p.pipeline == "model-ct"), None)
            if ct is not None:  # model-cd runs on what model-ct registers
                found.append(Triggered(pipeline=name, files=[], jobs=ct.jobs))
            continue
        if rule is None or event not in rule.events:
            continue
        own = [path for path in changed if matches(path, rule.paths)]
        by_job = {job: [path for path in changed if matches(path, globs)] for job, globs in jobs.items()}
        hit_jobs = sorted(job for job, paths in by_job.items() if paths) if rule.job_paths else []
        files = sorted({*own, *(path for job in hit_jobs for path in by_job[job])})
        if name in ("model-ci", "model-ct"):  # a job runs when its own paths change, every job for a shared path
            hit_jobs = sorted({*hit_jobs, *(jobs if own else ())})
            if not hit_jobs:
                continue
        elif not files:
            continue
        found.append(Triggered(pipeline=name, files=files, jobs=hit_jobs))
    return TriggerResult(base=base, head=head, event=event, changed=changed, pipelines=found)
