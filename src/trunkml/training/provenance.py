"""Where a run comes from: the git commit, the working tree state, the environment."""

from __future__ import annotations

import hashlib
import subprocess
from importlib import metadata
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from trunkml.errors import UnavailableError


class GitState(BaseModel):
    """The commit a run trains from, and whether the tree had uncommitted changes."""

    model_config = ConfigDict(frozen=True)

    sha: str | None
    dirty: bool
    branch: str | None
    author: str | None = None
    """``Name <email>`` of HEAD's author: approvals must come from someone else."""

    @property
    def identified(self) -> bool:
        """True when the code is fully identified by a commit (a repo, and nothing uncommitted)."""
        return self.sha is not None and not self.dirty


def _git(root: Path, *args: str) -> str | None:
    try:
        # git from PATH with fixed arguments: the repository is the user's own project.
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False, timeout=30)  # noqa: S603, S607
    except FileNotFoundError as exc:
        raise UnavailableError(
            "git is not installed", hint="install git; trunkml records the commit of every run"
        ) from exc
    return done.stdout.strip() if done.returncode == 0 else None


def git_state(root: Path) -> GitState:
    """Read HEAD, the dirty flag (tracked or untracked changes) and the branch of the repo at ``root``."""
    sha = _git(root, "rev-parse", "HEAD")
    if sha is None:
        return GitState(sha=None, dirty=True, branch=None)
    status = _git(root, "status", "--porcelain", "--untracked-files=normal") or ""
    branch = _git(root, "rev-parse", "--abbrev-ref", "HEAD")
    author = _git(root, "log", "-1", "--format=%an <%ae>", "HEAD")
    return GitState(sha=sha, dirty=bool(status), branch=None if branch == "HEAD" else branch, author=author)


def committed(root: Path, path: Path) -> bool:
    """True when ``path`` is inside the repo at ``root``, tracked, and identical to HEAD (not ignored, not edited)."""
    resolved = path.resolve()
    if not resolved.is_relative_to(root.resolve()):
        return False
    relative = resolved.relative_to(root.resolve()).as_posix()
    tracked = _git(root, "ls-files", "--error-unmatch", "--", relative) is not None
    return tracked and _git(root, "diff", "--quiet", "HEAD", "--", relative) is not None


def environment_lock() -> str:
    """The installed distributions as sorted ``name==version`` lines (what the env hash covers)."""
    lines = {f"{dist.metadata['Name']}=={dist.version}" for dist in metadata.distributions() if dist.metadata["Name"]}
    return "\n".join(sorted(lines, key=str.lower)) + "\n"


def environment_hash(lock: str | None = None) -> str:
    """sha256 of :func:`environment_lock`."""
    return hashlib.sha256((lock or environment_lock()).encode()).hexdigest()
