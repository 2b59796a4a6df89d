"""Environment specs (``environments/<name>/environment.yaml``) and the environment-ci / environment-cd pipelines.

A spec names a hash-locked requirements file (``pip-compile --generate-hashes``),
the Python it was locked for, and modules that must import. environment-ci
checks that every requirement is pinned with ``==`` and carries a hash, installs
the lock into a fresh venv with ``--require-hashes --no-deps`` (so a missing
dependency cannot be fetched silently), runs ``pip check`` (the lock is complete),
imports the modules, and runs ``pip-audit --strict`` against PyPI's vulnerability
data. Where that data cannot be reached the step fails (exit 3) unless
``--offline`` is given, and then the result says the audit was skipped.
environment-cd builds the venv once per lock hash under ``TRUNKML_HOME`` and
records it in the registry's tracking store.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import httpx
from pydantic import BaseModel, ConfigDict, Field

from trunkml.config import Settings
from trunkml.config.yamlfile import load_model
from trunkml.errors import ConfigError, NotFoundError, RefusedError, UnavailableError
from trunkml.pipelines.steps import Emit, PipelineResult, PipelineRun, run_pipeline
from trunkml.registry import Registry
from trunkml.registry.environment_builds import record_environment

SPEC_FILE = "environment.yaml"
BUILT = ".trunkml-built"  # written last: a venv without it is half-built and is built again
INSTALL_TIMEOUT_S = 1800
AUDIT_PROBE = "https://pypi.org/pypi/pip/24.0/json"  # per-version data is what pip-audit reads
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==(?P<version>[^\s;\\]+)")


class EnvironmentSpec(BaseModel):
    """One environment: a hash-locked requirements file, its Python, and what must import."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    python: str = Field(pattern=r"^3\.\d+$", description="major.minor the lock was compiled for")
    requirements: str = Field(default="requirements.lock", description="hash-locked file, relative to the spec")
    imports: tuple[str, ...] = Field(default=(), description="modules that must import in the built environment")


class Requirement(BaseModel):
    """One locked requirement."""

    model_config = ConfigDict(frozen=True)

    name: str
    version: str
    hashes: int


def environment_names(root: Path) -> list[str]:
    """Every environment of the project."""
    return sorted(path.parent.name for path in (root / "environments").glob(f"*/{SPEC_FILE}"))


def load_environment(root: Path, name: str) -> tuple[EnvironmentSpec, Path]:
    """The spec of environment ``name`` and its lock file's path."""
    path = root / "environments" / name / SPEC_FILE
    if not path.is_file():
        raise NotFoundError(f"no environment '{name}' ({path.relative_to(root)} not found)")
    spec = load_model(path, EnvironmentSpec)
    lock = (path.parent / spec.requirements).resolve()
    if not lock.is_relative_to(path.parent.resolve()) or not lock.is_file():
        raise ConfigError(f"{path}: requirements '{spec.requirements}' is not a file beside the spec")
    return spec, lock


def parse_lock(lock: Path) -> list[Requirement]:
    """The requirements of a pip-compile lock; refuses anything not pinned with == and a hash."""
    entries: list[str] = []
    for raw in lock.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        if entries and entries[-1].endswith("\\"):
            entries[-1] = entries[-1][:-1] + " " + line
        else:
            entries.append(line)
    found, problems = [], []
    for entry in entries:
        if entry.startswith("--hash"):
            continue
        if entry.startswith(("-e", "--editable")):
            problems.append(f"editable install: {entry[:80]}")
            continue
        if entry.startswith("-"):  # index options
            continue
        pin = PIN.match(entry)
        hashes = len(re.findall(r"--hash=sha256:[0-9a-f]{64}", entry))
        if pin is None:
            problems.append(f"not pinned with ==: {entry.split()[0][:80]}")
        elif hashes == 0:
            problems.append(f"no --hash: {pin['name']}")
        else:
            found.append(Requirement(name=pin["name"], version=pin["version"], hashes=hashes))
    if problems:
        raise RefusedError(f"{lock}: the lock is not fully pinned and hashed:\n  " + "\n  ".join(problems))
    if not found:
        raise RefusedError(f"{lock}: the lock lists no requirements")
    return found


def _python_matches(spec: EnvironmentSpec) -> str:
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if spec.python != running:
        raise ConfigError(f"the environment is locked for Python {spec.python}, this is Python {running}")
    return f"Python {running}"


def _run(command: list[str], what: str) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False)  # noqa: S603
    except subprocess.TimeoutExpired as exc:
        raise UnavailableError(f"{what} did not finish within {INSTALL_TIMEOUT_S} s") from exc
    if done.returncode != 0:
        raise RefusedError(f"{what} failed (exit {done.returncode}):\n{(done.stdout + done.stderr).strip()[-2000:]}")
    return done.stdout


def build_venv(lock: Path, target: Path) -> Path:
    """A fresh venv at ``target`` with exactly the lock installed (hashes required, no dependency resolution)."""
    shutil.rmtree(target, ignore_errors=True)
    _run([sys.executable, "-m", "venv", str(target)], "creating the venv")
    python = target / "bin" / "python"
    _run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--require-hashes",
         "--no-deps", "-r", str(lock)],
        "installing the lock",
    )  # fmt: skip
    _run([str(python), "-m", "pip", "check"], "pip check (a dependency missing from the lock)")
    (target / BUILT).write_text("installed from the lock and passed pip check\n", encoding="utf-8")
    return python


def _imports(python: Path, modules: tuple[str, ...]) -> str:
    if not modules:
        return "no imports listed"
    _run([str(python), "-c", "; ".join(f"import {module}" for module in modules)], "importing " + ", ".join(modules))
    return "import " + ", ".join(modules)


def _audit(lock: Path, offline: bool) -> str:
    try:
        reachable = httpx.get(AUDIT_PROBE, timeout=5, follow_redirects=True).status_code == 200
    except httpx.HTTPError:
        reachable = False
    if not reachable:
        if offline:
            return "SKIPPED (--offline): PyPI's vulnerability data is not reachable from here"
        raise UnavailableError(
            f"pip-audit cannot reach PyPI's vulnerability data ({AUDIT_PROBE} did not answer), so nothing could be "
            "checked",
            hint="run where pypi.org is reachable, or pass --offline to skip the audit (the result says so)",
        )
    tool = shutil.which("pip-audit", path=str(Path(sys.executable).parent)) or shutil.which("pip-audit")
    if tool is None:
        raise UnavailableError("pip-audit is not installed", hint="pip install pip-audit (part of trunkml[dev])")
    done = subprocess.run(  # noqa: S603
        [tool, "--strict", "--require-hashes", "--disable-pip", "--progress-spinner", "off", "--format", "json",
         "-r", str(lock)],
        capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False,
    )  # fmt: skip
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise UnavailableError(f"pip-audit could not check the lock: {done.stderr.strip()[-800:]}") from exc
    vulnerable = [
        f"{dep['name']} {dep['version']}: {', '.join(v['id'] for v in dep['vulns'])}"
        for dep in report.get("dependencies", [])
        if dep.get("vulns")
    ]
    if vulnerable:
        raise RefusedError("known vulnerabilities in the lock:\n  " + "\n  ".join(vulnerable))
    if done.returncode != 0:
        raise UnavailableError(f"pip-audit --strict failed: {done.stderr.strip()[-800:]}")
    return f"{len(report.get('dependencies', []))} packages audited (--strict): no known vulnerabilities"


def _describe_spec(found: tuple[EnvironmentSpec, Path]) -> str:
    return str(found[1].name)


def _describe_pins(pins: list[Requirement]) -> str:
    return f"{len(pins)} requirements"


def _installed(_python: Path) -> str:
    return "pip install --require-hashes --no-deps; pip check"


def _describe_record(found: tuple[str, bool]) -> str:
    return f"{'recorded' if found[1] else 'already recorded'} as run {found[0]}"


def lock_sha256(lock: Path) -> str:
    """sha256 of the lock file's bytes: the environment's identity."""
    return hashlib.sha256(lock.read_bytes()).hexdigest()


def _each_environment(
    run: PipelineRun, root: Path, names: list[str] | None
) -> Iterator[tuple[str, EnvironmentSpec, Path]]:
    """(name, spec, lock) of each chosen environment, loading each spec as a step."""
    chosen = names or environment_names(root)
    if not chosen:
        run.skip("environments", "the project has no environments/<name>/environment.yaml")
    for name in chosen:
        spec, lock = run.step(f"{name}: spec", partial(load_environment, root, name), _describe_spec)
        yield name, spec, lock


def environment_ci(
    settings: Settings, names: list[str] | None = None, offline: bool = False, emit: Emit | None = None
) -> PipelineResult:
    """Validate, install into a fresh venv, import and audit each environment."""
    root = settings.project_root

    def body(run: PipelineRun) -> None:
        for name, spec, lock in _each_environment(run, root, names):
            run.step(f"{name}: python", partial(_python_matches, spec), str)
            pins = run.step(f"{name}: pinned and hashed", partial(parse_lock, lock), _describe_pins)
            with tempfile.TemporaryDirectory(prefix="trunkml-envci-") as scratch:
                python = run.step(
                    f"{name}: install into a fresh venv", partial(build_venv, lock, Path(scratch) / "venv"), _installed
                )
                run.step(f"{name}: imports", partial(_imports, python, spec.imports), str)
            audit = run.step(f"{name}: pip-audit", partial(_audit, lock, offline), str)
            run.outputs[name] = {"requirements": len(pins), "lock_sha256": lock_sha256(lock), "audit": audit}

    return run_pipeline("environment-ci", body, emit)


def environment_cd(settings: Settings, names: list[str] | None = None, emit: Emit | None = None) -> PipelineResult:
    """Build each environment once per lock hash and record it in the tracking store."""
    root = settings.project_root

    def body(run: PipelineRun) -> None:
        for name, spec, lock in _each_environment(run, root, names):
            parse_lock(lock)
            digest = lock_sha256(lock)
            target = settings.home_dir / "environments" / f"{name}-{digest[:12]}"
            run.step(f"{name}: python", partial(_python_matches, spec), str)
            python = target / "bin" / "python"
            if (target / BUILT).is_file():
                run.skip(f"{name}: build", f"already built at {target}")
            else:
                run.step(f"{name}: build", partial(build_venv, lock, target), str)
            files = {
                "environment/requirements.lock": lock.read_text(encoding="utf-8"),
                "environment/freeze.txt": _run([str(python), "-m", "pip", "freeze", "--all"], "pip freeze"),
            }
            record = partial(record_environment, Registry(settings), name, digest, spec.python, files)
            run_id, created = run.step(f"{name}: record (lock sha256 {digest[:12]})", record, _describe_record)
            run.outputs[name] = {"lock_sha256": digest, "run_id": run_id, "path": str(target), "created": created}

    return run_pipeline("environment-cd", body, emit)
