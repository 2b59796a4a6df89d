"""Slices declared on a dataset pointer: flag and categorical columns, word-count buckets, split parents."""

from __future__ import annotations

from tests.conftest import Project
from trunkml.datasets.slice_masks import MAX_VALUES

ROWS = [
    ("vocês são uma praga", 1, 1, "twitter"),
    ("bom dia a todos", 0, 0, "instagram"),
    ("odeio essa gente toda de lá", 1, 1, "twitter"),
    ("o jogo foi ótimo ontem à noite com amigos", 0, 0, "twitter"),
    ("fora daqui seus nojentos", 1, 0, "instagram"),
    ("que dia lindo", 0, 0, "instagram"),
] * 10


def _add(project: Project, name: str = "posts") -> None:
    lines = ["text,label,Racism,platform"] + [f"{t} {i},{y},{r},{p}" for i, (t, y, r, p) in enumerate(ROWS)]
    project.write_csv("raw/posts.csv", "\n".join(lines) + "\n")
    added = project.cli("data", "add", name, "--file", "raw/posts.csv", "-t", "text", "-l", "label")
    assert added.code == 0, added.stderr


def test_declaring_slices_makes_a_new_version_of_the_same_bytes(project: Project) -> None:
    _add(project)
    result = project.cli(
        "data", "slices", "posts", "-c", "Racism", "-c", "platform", "--length-buckets", "5,7", "--json"
    )
    assert result.code == 0, result.stderr
    shown = result.json()
    assert shown["dataset"] == "posts@2"
    assert shown["sizes"] == {
        "Racism": {"rows": 20, "positives": 20},
        "platform=instagram": {"rows": 30, "positives": 10},
        "platform=twitter": {"rows": 30, "positives": 20},
        "words <5": {"rows": 10, "positives": 0},
        "words 5-6": {"rows": 30, "positives": 20},
        "words >=7": {"rows": 20, "positives": 10},
    }
    versions = [project.cli("data", "show", ref, "--json").json() for ref in ("posts@1", "posts")]
    assert versions[0]["sha256"] == versions[1]["sha256"]
    assert versions[0].get("slices") is None
    assert versions[1]["slices"]["columns"] == ["Racism", "platform"]
    assert project.cli("data", "verify", "posts@2").code == 0


def test_a_split_takes_its_slice_columns_from_the_parent(project: Project) -> None:
    _add(project)
    assert project.cli("data", "split", "posts", "--eval-fraction", "0.5", "--add", "posts").code == 0
    result = project.cli("data", "slices", "posts-eval", "-c", "Racism", "--json")
    assert result.code == 0, result.stderr
    sizes = result.json()["sizes"]["Racism"]
    assert 0 < sizes["rows"] < 20
    assert sizes["rows"] == sizes["positives"]


def test_bad_slice_declarations_are_refused_with_the_reason(project: Project) -> None:
    _add(project)
    missing = project.cli("data", "slices", "posts", "-c", "Racism", "-c", "Sexism", "-c", "Age")
    assert missing.code == 1
    assert "missing column(s): Sexism, Age" in missing.stderr
    assert project.cli("data", "show", "posts", "--json").json()["version"] == 1  # nothing written
    assert project.cli("data", "slices", "posts", "--length-buckets", "6,4").code == 2
    assert project.cli("data", "slices", "posts", "--length-buckets", "a,b").code == 2
    assert project.cli("data", "slices", "posts", "-c", "text").code == 2
    many = ["text,label,user"] + [f"t{i},{i % 2},user{i}" for i in range(MAX_VALUES + 5)]
    project.write_csv("raw/users.csv", "\n".join(many) + "\n")
    assert project.cli("data", "add", "users", "--file", "raw/users.csv", "-t", "text", "-l", "label").code == 0
    too_many = project.cli("data", "slices", "users", "-c", "user")
    assert too_many.code == 1
    assert f"has {MAX_VALUES + 5} distinct values" in too_many.stderr
