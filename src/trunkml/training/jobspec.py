"""Job specs: ``jobs/<model>/train.yaml``, what CT trains and from which data.

A spec names the model, the user's training function (``module:function``), the
dataset inputs (``train`` and ``eval``, or ``train`` plus a seeded split) and a
params file. Command-line overrides make a new, resolved spec; the committed one
is never changed.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from trunkml.config.names import check_name, inside
from trunkml.config.yamlfile import load_mapping, load_model
from trunkml.datasets.pointer import DatasetRef
from trunkml.datasets.split import SplitSpec
from trunkml.errors import ConfigError, NotFoundError, UsageError

INPUT_NAMES = ("train", "eval")
RESERVED_PREFIX = "trunkml."  # trunkml logs its own params (inputs, split, model) under this prefix
ENTRYPOINT = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class JobSpec(BaseModel):
    """A training job as declared in YAML."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][\w.-]*$")
    entrypoint: str
    code_dir: str = "src"
    inputs: dict[str, str]
    split: SplitSpec | None = None
    params: str | None = "params.yaml"
    description: str = ""
    watch: tuple[str, ...] = Field(
        default=(),
        description="More project paths whose changes train the job: model code outside the entrypoint's "
        "package (a vendored library, a model family developed in the same repository).",
    )

    @field_validator("entrypoint")
    @classmethod
    def _entrypoint_form(cls, value: str) -> str:
        if not ENTRYPOINT.match(value):
            raise ValueError("must be 'package.module:function'")
        return value

    @field_validator("inputs")
    @classmethod
    def _known_inputs(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(INPUT_NAMES))
        if unknown:
            raise ValueError(f"unknown input name(s) {unknown}; allowed: {list(INPUT_NAMES)}")
        for ref in value.values():
            DatasetRef.parse(ref)
        return value

    @field_validator("watch")
    @classmethod
    def _plain_relative_paths(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for path in value:
            try:
                inside(Path("."), path, "watched path")  # relative, no '..', no escapes
            except UsageError as exc:
                raise ValueError(exc.message) from exc
        return value

    @model_validator(mode="after")
    def _eval_or_split(self) -> Self:
        if "train" not in self.inputs:
            raise ValueError("inputs must name a 'train' dataset")
        if ("eval" in self.inputs) == (self.split is not None):
            raise ValueError("give either an 'eval' input or a 'split' (not both, not neither)")
        return self


class ResolvedJob(BaseModel):
    """A spec with its params loaded and overrides applied: exactly what a run trains from."""

    model_config = ConfigDict(frozen=True)

    name: str
    path: str
    spec: JobSpec
    params: dict[str, Any]

    files: list[str] = []
    """The spec and params files, as given (relative to the project when inside it)."""

    @property
    def job_hash(self) -> str:
        """sha256 of the canonical spec and params: equal hashes mean the same job."""
        payload = {
            "spec": self.spec.model_dump(mode="json", exclude={"description"}),
            "params": _canonical(self.params),
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _canonical(value: Any) -> Any:
    """Params with every mapping key as text, so hashing never depends on YAML key types."""
    if isinstance(value, dict):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    return value


def job_path(project_root: Path, job: str) -> Path:
    """Resolve ``job`` (a name under ``jobs/`` or a path to a YAML file) to the spec file."""
    if Path(job).suffix in {".yaml", ".yml"}:
        path = inside(project_root, job, "job spec path")
    else:
        path = project_root / "jobs" / check_name(job, "job name") / "train.yaml"
    if not path.is_file():
        known = sorted(p.parent.name for p in (project_root / "jobs").glob("*/train.yaml"))
        raise NotFoundError(f"no job spec at {path}", hint=f"known jobs: {', '.join(known) or 'none'}")
    return path


def _parse_override(item: str, what: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise UsageError(f"bad --{what} '{item}'", hint=f"use --{what} KEY=VALUE")
    return key.strip(), value.strip()


def _override_inputs(spec: JobSpec, items: list[str]) -> JobSpec:
    inputs = dict(spec.inputs)
    for item in items:
        name, ref = _parse_override(item, "input")
        if name not in INPUT_NAMES:
            raise UsageError(f"unknown input name '{name}'", hint=f"inputs are: {', '.join(INPUT_NAMES)}")
        inputs[name] = ref
    fields = spec.model_dump()
    fields["inputs"] = inputs
    if "eval" in inputs:
        fields["split"] = None
    try:
        return JobSpec.model_validate(fields)
    except ValueError as exc:
        raise UsageError(f"overrides make an invalid job: {exc}") from exc


def _override_params(params: dict[str, Any], items: list[str]) -> dict[str, Any]:
    merged = dict(params)
    for item in items:
        key, raw = _parse_override(item, "param")
        if key.startswith(RESERVED_PREFIX):
            raise UsageError(f"param '{key}' uses the reserved prefix '{RESERVED_PREFIX}'", hint="rename it")
        merged[key] = yaml.safe_load(raw) if raw else ""
    return merged


def load_job(
    project_root: Path, job: str, inputs: list[str] | None = None, params: list[str] | None = None
) -> ResolvedJob:
    """Load a job spec and its params, applying command-line overrides."""
    path = job_path(project_root, job)
    spec = _override_inputs(load_model(path, JobSpec), inputs or [])
    inside(project_root, spec.code_dir, f"{path}: code_dir")
    values: dict[str, Any] = {}
    if spec.params:
        params_path = inside(path.parent, spec.params, f"{path}: params file")
        if not params_path.is_file():
            raise ConfigError(f"{path}: params file {params_path} does not exist")
        values = load_mapping(params_path)[0]
    reserved = sorted(str(key) for key in values if str(key).startswith(RESERVED_PREFIX))
    if reserved:
        raise ConfigError(f"{path}: params {reserved} use the reserved prefix '{RESERVED_PREFIX}'")
    resolved_params = _override_params(values, params or [])
    relative = (
        path.resolve().relative_to(project_root.resolve()).as_posix()
        if path.resolve().is_relative_to(project_root.resolve())
        else str(path)
    )
    files = [relative] + ([str(Path(relative).parent / spec.params)] if spec.params else [])
    return ResolvedJob(name=path.parent.name, path=relative, spec=spec, params=resolved_params, files=files)
