"""Job specs: clear errors for unknown inputs and bad entrypoints; overrides never edit the spec."""

from __future__ import annotations

from pathlib import Path

import pytest

from trunkml.errors import ConfigError, NotFoundError, UsageError
from trunkml.training.jobspec import load_job

SPEC = """\
model: m
entrypoint: pkg.mod:train
inputs:
  train: demo
split: {eval_fraction: 0.2, seed: 1}
params: params.yaml
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "jobs" / "m").mkdir(parents=True)
    (tmp_path / "jobs" / "m" / "train.yaml").write_text(SPEC, encoding="utf-8")
    (tmp_path / "jobs" / "m" / "params.yaml").write_text("C: 1.0\nwindow: 64\n", encoding="utf-8")
    return tmp_path


def test_load_by_name_and_by_path(root: Path) -> None:
    by_name = load_job(root, "m")
    assert by_name.spec.inputs == {"train": "demo"}
    assert by_name.params == {"C": 1.0, "window": 64}
    assert by_name.path == "jobs/m/train.yaml"
    assert load_job(root, "jobs/m/train.yaml").job_hash == by_name.job_hash


def test_param_overrides_are_typed_and_change_the_hash(root: Path) -> None:
    base = load_job(root, "m")
    tuned = load_job(root, "m", params=["C=4", "objective=f1", "flag=true"])
    assert tuned.params == {"C": 4, "window": 64, "objective": "f1", "flag": True}
    assert tuned.job_hash != base.job_hash
    assert (root / "jobs/m/train.yaml").read_text(encoding="utf-8") == SPEC


def test_an_eval_input_replaces_the_split(root: Path) -> None:
    job = load_job(root, "m", inputs=["eval=frozen@2"])
    assert job.spec.inputs == {"train": "demo", "eval": "frozen@2"}
    assert job.spec.split is None


def test_unknown_input_names_are_clear_errors(root: Path) -> None:
    with pytest.raises(UsageError, match="unknown input name 'validation'"):
        load_job(root, "m", inputs=["validation=x"])
    (root / "jobs/m/train.yaml").write_text(SPEC.replace("train: demo", "train: demo\n  extra: x"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"train.yaml:3: field 'inputs'.*unknown input name\(s\) \['extra'\]"):
        load_job(root, "m")


def test_spec_errors_name_file_and_line(root: Path) -> None:
    (root / "jobs/m/train.yaml").write_text(SPEC.replace("pkg.mod:train", "not an entrypoint"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"train.yaml:2: field 'entrypoint'"):
        load_job(root, "m")


def test_eval_and_split_are_exclusive(root: Path) -> None:
    (root / "jobs/m/train.yaml").write_text(SPEC.replace("train: demo", "train: demo\n  eval: e"), encoding="utf-8")
    with pytest.raises(ConfigError, match="either an 'eval' input or a 'split'"):
        load_job(root, "m")


def test_missing_job_and_params(root: Path) -> None:
    with pytest.raises(NotFoundError, match="known jobs: m"):
        load_job(root, "nope")
    with pytest.raises(UsageError, match="bad --param"):
        load_job(root, "m", params=["novalue"])
    (root / "jobs/m/params.yaml").unlink()
    with pytest.raises(ConfigError, match=r"params file .* does not exist"):
        load_job(root, "m")


def test_hash_handles_mixed_key_types(root: Path) -> None:
    (root / "jobs/m/params.yaml").write_text("nested: {1: a, b: 2}\n", encoding="utf-8")
    assert len(load_job(root, "m").job_hash) == 64


def test_reserved_params_in_the_file_are_refused(root: Path) -> None:
    (root / "jobs/m/params.yaml").write_text("trunkml.input.train: x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="reserved prefix"):
        load_job(root, "m")


@pytest.mark.parametrize("path", ["../elsewhere", "/abs/path", "~/x", "src/%2e%2e/x"])
def test_watched_paths_stay_inside_the_project(root: Path, path: str) -> None:
    (root / "jobs/m/train.yaml").write_text(SPEC + f"watch: [{path!r}]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="field 'watch'"):
        load_job(root, "m")


def test_watched_paths_are_part_of_the_spec(root: Path) -> None:
    before = load_job(root, "m")
    (root / "jobs/m/train.yaml").write_text(SPEC + "watch: [vendor/lib]\n", encoding="utf-8")
    watched = load_job(root, "m")
    assert watched.spec.watch == ("vendor/lib",)
    assert watched.job_hash != before.job_hash  # a new watched path is a change to the job
