"""YAML project files: every error names the file and the line to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from trunkml.config.project import ProjectConfig, load_project
from trunkml.config.yamlfile import dump_model, load_model
from trunkml.datasets.pointer import DatasetPointer
from trunkml.errors import ConfigError

GOOD_POINTER = """\
name: demo
version: 1
uri: data/demo.csv
sha256: {sha}
size_bytes: 10
text_column: text
label_column: label
labels:
  '0': 0
  '1': 1
""".format(sha="a" * 64)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dataset.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "name: demo\nversion: 1\nlabels: {'0': 0\nuri: x\n")
    with pytest.raises(ConfigError) as caught:
        load_model(path, DatasetPointer)
    assert f"{path}:4" in caught.value.message
    assert "malformed YAML" in caught.value.message


def test_unknown_field_is_refused_with_its_name_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_POINTER + "colour: blue\n")
    with pytest.raises(ConfigError) as caught:
        load_model(path, DatasetPointer)
    assert f"{path}:11: unknown field 'colour'" in caught.value.message


def test_every_invalid_field_is_reported_with_its_line(tmp_path: Path) -> None:
    text = GOOD_POINTER.replace("version: 1", "version: zero").replace("a" * 64, "not-a-digest")
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_model(path, DatasetPointer)
    assert f"{path}:2: field 'version'" in caught.value.message
    assert f"{path}:4: field 'sha256'" in caught.value.message


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_POINTER + "version: 2\n")
    with pytest.raises(ConfigError, match=r"dataset.yaml:11: duplicate key 'version'"):
        load_model(path, DatasetPointer)


def test_a_document_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "- just\n- a list\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_model(path, DatasetPointer)


def test_round_trip_keeps_the_record(tmp_path: Path) -> None:
    pointer = load_model(write(tmp_path, GOOD_POINTER), DatasetPointer)
    out = tmp_path / "copy" / "dataset.yaml"
    dump_model(out, pointer)
    assert load_model(out, DatasetPointer) == pointer


def test_project_file_defaults_and_policy(tmp_path: Path) -> None:
    assert load_project(tmp_path) == ProjectConfig(name=tmp_path.name)
    (tmp_path / "trunkml.yaml").write_text("name: p\ndata:\n  max_eval_overlap: 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"trunkml.yaml:3: field 'data.max_eval_overlap'"):
        load_project(tmp_path)
