"""The demo's workspace: a fresh git repository holding a project rendered from trunkml's own templates.

The job and the model package are the files ``trunkml init --family tfidf`` writes (trunkml's TF-IDF
family); the project file and the endpoint are the demo's own templates. Nothing is copied from a
checkout, so the demo runs from an installed wheel. Only ``--data fortuna`` reads the reference
project's dataset pointers (URL + sha256, never rows) from the folder it is run in.
"""

from __future__ import annotations

import shutil
import subprocess
from importlib.resources import files as package_files
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from trunkml.config.settings import PROJECT_FILE
from trunkml.errors import NotFoundError, UnavailableError, UsageError
from trunkml.scaffold.render import model_files, package_name, render, render_resource

DemoData = Literal["synthetic", "fortuna"]
MODEL = "demo-classifier"
MARKER = ".trunkml-demo"
FORTUNA = ("fortuna-2019", "fortuna-2019-train", "fortuna-2019-eval")
# On Fortuna, commit A trains a deliberately plain model (word unigrams and character bigrams only);
# commit B brings the family's default features back.
FORTUNA_PARAMS_A = {"C": "16.0", "precision_floor": "0.72", "word_max_n": "1", "char_max_n": "2"}
FORTUNA_PARAMS_B = {"word_max_n": "2", "char_max_n": "5"}


def demo_template(name: str, **values: str) -> str:
    """A demo template (``trunkml/demo/templates/<name>``) with its placeholders filled."""
    return render_resource(package_files("trunkml.demo") / "templates" / name, **values)


def params_path(root: Path) -> Path:
    """The demo job's params.yaml."""
    return root / "jobs" / MODEL / "params.yaml"


def endpoint_path(root: Path) -> Path:
    """The demo endpoint's spec."""
    return root / "endpoints" / MODEL / "endpoint.yaml"


def set_params(root: Path, values: dict[str, str]) -> None:
    """Set ``key: value`` lines in the job's params.yaml (replacing the key's line where there is one)."""
    params = params_path(root)
    lines = params.read_text(encoding="utf-8").splitlines()
    for key, value in values.items():
        lines = [line for line in lines if not line.startswith(f"{key}:")] + [f"{key}: {value}"]
    params.write_text("\n".join(lines) + "\n", encoding="utf-8")


def fresh_workdir(workdir: Path) -> None:
    """Create an empty demo workspace, replacing only a previous demo's (never other folders)."""
    if workdir.exists():
        if not (workdir / MARKER).exists():
            raise UsageError(f"{workdir} exists and is not a trunkml demo workspace", hint="pass another --workdir")
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    (workdir / MARKER).write_text("created by `trunkml demo`\n", encoding="utf-8")


def write_files(workdir: Path, files: dict[str, str]) -> None:
    """Write ``{relative path: text}`` under ``workdir``."""
    for relative, text in files.items():
        (workdir / relative).parent.mkdir(parents=True, exist_ok=True)
        (workdir / relative).write_text(text, encoding="utf-8")


def prepare_workdir(workdir: Path, data: DemoData, source_project: Path) -> None:
    """Create the demo workspace, replacing only a previous demo's (never other folders), and ``git init`` it."""
    fresh_workdir(workdir)
    real = data == "fortuna"
    train, eval_ = (FORTUNA[1], FORTUNA[2]) if real else ("demo-tweets", "demo-eval")
    names = {
        "model": MODEL,
        "data": "Fortuna 2019 (real data, through the mirror)" if real else "SYNTHETIC DEMO DATA",
        "eval": eval_,
        "overlap": "0.0" if real else "0.05",
    }
    files = {
        PROJECT_FILE: demo_template("trunkml.yaml", **names),
        ".gitignore": render("project/gitignore"),
        f"endpoints/{MODEL}/endpoint.yaml": demo_template("endpoint.yaml", model=MODEL),
        **model_files(MODEL, package_name(MODEL), "tfidf", train, eval_),
    }
    write_files(workdir, files)
    if real:
        set_params(workdir, FORTUNA_PARAMS_A)
        for name in FORTUNA:
            source = source_project / "datasets" / name
            if not source.is_dir():
                raise NotFoundError(f"no pointer {source}", hint="run `trunkml demo --data fortuna` from a checkout")
            shutil.copytree(source, workdir / "datasets" / name)
    git(workdir, "init", "-q", "-b", "main")
    add_reviewer(workdir)


REVIEWER = "reviewer"
REVIEWER_KEY = Path(".trunkml") / "demo-keys" / REVIEWER


def add_reviewer(workdir: Path) -> Path:
    """Give the demo a reviewer: an SSH key (outside git) in the committed allowed-signers file.

    The demo's repository signs approvals with it through git's own setting, ``user.signingkey``,
    as a reviewer's checkout would; the demo's commits are written by someone else.
    """
    key = ed25519.Ed25519PrivateKey.generate()
    private = workdir / REVIEWER_KEY
    private.parent.mkdir(parents=True, exist_ok=True)
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    )
    private.chmod(0o600)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    line = f'{REVIEWER},reviewer@trunkml.invalid namespaces="git,trunkml-approval" {public.decode()} Demo Reviewer\n'
    (workdir / "allowed_signers").write_text(
        "# Who may sign approvals (git's allowed-signers format; the first principal is the person).\n" + line,
        encoding="utf-8",
    )
    git(workdir, "config", "user.signingkey", str(private))
    return private


def git(root: Path, *args: str) -> str:
    """Run git in the demo workspace with a fixed identity (no global configuration needed)."""
    command = ["git", "-c", "user.name=trunkml demo", "-c", "user.email=demo@trunkml.invalid", *args]
    try:
        done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=True, timeout=60)  # noqa: S603
    except FileNotFoundError as exc:
        raise UnavailableError("the demo needs git on PATH") from exc
    return done.stdout.strip()
