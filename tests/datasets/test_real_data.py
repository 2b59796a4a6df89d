"""The committed pointers for the real datasets verify and validate through the offline mirror."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import FORTUNA_SHA256, REPO_ROOT
from trunkml.config import Settings
from trunkml.datasets import DataService
from trunkml.datasets.pointer import DatasetRef
from trunkml.datasets.results import Where
from trunkml.datasets.split import SplitSpec, split_frame


@pytest.fixture
def service(shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DataService:
    """The repository's own pointers, an empty store in tmp_path, the shared data as mirror."""
    project = tmp_path / "repo"
    project.mkdir()
    shutil.copy(REPO_ROOT / "trunkml.yaml", project / "trunkml.yaml")
    shutil.copytree(REPO_ROOT / "datasets", project / "datasets")
    return DataService(Settings(project=project, home=tmp_path / "home", data_mirror=shared_data))


def test_fortuna_pointer_verifies_through_the_mirror(service: DataService) -> None:
    summary = service.verify(["fortuna-2019"])
    assert summary.ok
    assert summary.results[0].where is Where.MIRROR
    assert summary.results[0].sha256 == FORTUNA_SHA256


def test_fortuna_pulls_loads_and_validates(service: DataService) -> None:
    assert service.pull(["fortuna-2019", "hatebr"]).ok
    outcome = service.validate("fortuna-2019")
    report = outcome.reports[0]
    assert outcome.ok
    assert report.rows == 5668
    assert report.class_counts == {0: 4440, 1: 1228}


def test_fortuna_split_is_reproducible_and_leak_free(service: DataService) -> None:
    frame = service.load_valid("fortuna-2019").labelled()
    _, held_out, record = split_frame(frame, SplitSpec(eval_fraction=0.2, seed=42))
    assert record == split_frame(frame, SplitSpec(eval_fraction=0.2, seed=42))[2]
    assert abs(record.eval_rows - 0.2 * len(frame)) < 20
    assert abs(held_out["label"].mean() - frame["label"].mean()) < 0.01


def test_hatebr_against_fortuna_reports_leakage_as_a_number(service: DataService) -> None:
    outcome = service.validate("fortuna-2019", against="hatebr", max_overlap=0.01)
    assert outcome.leakage is not None
    assert outcome.leakage.eval_rows == 7000
    assert outcome.leakage.share < 0.01


def test_the_fortuna_eval_set_has_target_group_and_length_slices(service: DataService) -> None:
    loaded = service.load_valid("fortuna-2019-eval")
    labels = loaded.labelled()["label"].to_numpy()
    sizes = {name: (int(mask.sum()), int(labels[mask].sum())) for name, mask in service.slices(loaded).items()}
    assert sizes["Sexism"] == (125, 125)
    assert sizes["Homophobia"] == (68, 68)
    assert sizes["Racism"] == (26, 26)
    assert sum(rows for name, (rows, _) in sizes.items() if name.startswith("words")) == len(labels) == 1134
    assert loaded.pointer.sha256 == service.catalog.get(DatasetRef.parse("fortuna-2019-eval@1")).sha256
