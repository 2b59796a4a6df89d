"""`trunkml data ...` as a user runs it: output, --json documents and exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SMALL_CSV, Project


def add(project: Project, name: str = "demo", text: str = SMALL_CSV, *extra: str) -> None:
    project.write_csv(f"data/{name}.csv", text)
    result = project.cli("data", "add", name, "--file", f"data/{name}.csv", "-t", "text", "-l", "label", *extra)
    assert result.code == 0, result.stderr


def test_add_list_show_as_json(project: Project) -> None:
    add(project)
    listed = project.cli("data", "list", "--json")
    assert listed.code == 0
    [entry] = listed.json()
    assert entry["name"] == "demo"
    assert entry["in_store"] is True
    shown = project.cli("data", "show", "demo", "--json").json()
    assert shown["versions"] == [1]
    assert shown["store_path"].endswith(shown["sha256"][2:])


def test_human_output_names_the_dataset_and_version(project: Project) -> None:
    add(project)
    assert "demo" in project.cli("data", "list").stdout
    assert "sha256" in project.cli("data", "show", "demo@1").stdout


def test_verify_exit_codes(project: Project) -> None:
    add(project)
    ok = project.cli("data", "verify", "--json")
    assert ok.code == 0
    assert ok.json()["ok"] is True
    object_path = Path(project.cli("data", "show", "demo", "--json").json()["store_path"])
    object_path.unlink()
    missing = project.cli("data", "verify")
    assert missing.code == 1
    assert "demo@1" in missing.stdout
    assert "FAILED" in missing.stdout


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_verify_names_the_damaged_dataset(project: Project, damage: str) -> None:
    add(project)
    add(project, "other", SMALL_CSV + "outro texto,0\n")
    path = Path(project.cli("data", "show", "demo", "--json").json()["store_path"])
    data = path.read_bytes()
    path.chmod(0o644)
    path.write_bytes(data[:10] + bytes([data[10] ^ 1]) + data[11:] if damage == "flip" else data[:-7])
    result = project.cli("data", "verify", "--json")
    assert result.code == 1
    by_name = {row["dataset"]: row for row in result.json()["results"]}
    assert by_name["demo@1"]["ok"] is False
    assert by_name["other@1"]["ok"] is True


def test_pull_repairs_then_verify_passes(project: Project) -> None:
    add(project)
    path = Path(project.cli("data", "show", "demo", "--json").json()["store_path"])
    path.chmod(0o644)
    path.write_bytes(b"garbage")
    assert project.cli("data", "pull", "demo").code == 0
    assert project.cli("data", "verify", "demo").code == 0


def test_validate_reports_and_refuses_leakage(project: Project) -> None:
    add(project, "train")
    add(project, "eval", "text,label\nODEIO os zorbanos!,1\ntexto novo,0\n")
    clean = project.cli("data", "validate", "train", "--json")
    assert clean.code == 0
    assert clean.json()["reports"][0]["class_counts"] == {"0": 3, "1": 2}
    leaked = project.cli("data", "validate", "train", "--against", "eval", "--json")
    assert leaked.code == 1
    assert leaked.json()["leakage"]["overlapping_rows"] == 1
    allowed = project.cli("data", "validate", "train", "--against", "eval", "--max-overlap", "0.5")
    assert allowed.code == 0
    assert "leakage train@1 → eval@1" in allowed.stdout


def test_project_file_sets_the_overlap_allowance(make_project: object) -> None:
    project: Project = make_project(project_yaml="name: p\ndata:\n  max_eval_overlap: 0.5\n")  # type: ignore[operator]
    add(project, "train")
    add(project, "eval", "text,label\nodeio os zorbanos,1\ntexto novo,0\n")
    assert project.cli("data", "validate", "train", "--against", "eval").code == 0


def test_validate_lists_every_problem(project: Project) -> None:
    add(project, "bad", "text,label\n,1\nok,7\nfine,0\n", "--label-map", "1=1", "--label-map", "0=0")
    result = project.cli("data", "validate", "bad")
    assert result.code == 1
    assert "empty or blank text" in result.stdout
    assert "outside the pointer's mapping" in result.stdout


def test_split_preview_records_the_seed(project: Project) -> None:
    project.cli("data", "synth", "--rows", "400", "--add", "demo")
    result = project.cli("data", "split", "demo", "--seed", "5", "--json")
    assert result.code == 0
    document = result.json()
    assert document["split"]["seed"] == 5
    assert document["split"]["train_rows"] + document["split"]["eval_rows"] == 400


def test_synth_writes_and_adds_marked_demo_data(project: Project) -> None:
    result = project.cli(
        "data", "synth", "--rows", "100", "--seed", "3", "--out", "demo.csv", "--add", "demo", "--json"
    )
    assert result.code == 0
    added = result.json()["added"]["pointer"]
    assert added["synthetic"] is True
    assert added["uri"].startswith("synth:demo?rows=100&seed=3")
    assert "SYNTHETIC DEMO DATA" in added["description"]
    assert (project.root / "demo.csv").read_text(encoding="utf-8").count("\n") == 101
    assert "(demo)" in project.cli("data", "list").stdout
    assert project.cli("data", "synth").code == 2
    assert project.cli("data", "synth", "--rows", "1", "--out", "x.csv").code == 2


# --- bad input: each a clear message and the documented exit code --------------------------------


def test_malformed_pointer_yaml_names_file_and_line(project: Project) -> None:
    add(project)
    pointer = project.root / "datasets/demo/dataset.yaml"
    pointer.write_text(pointer.read_text(encoding="utf-8") + "labels: [oops\n", encoding="utf-8")
    shown = project.cli("data", "show", "demo")
    assert shown.code == 2
    assert "datasets/demo/dataset.yaml:" in shown.stderr
    assert "malformed YAML" in shown.stderr
    verified = project.cli("data", "verify", "--json")
    assert verified.code == 2
    assert "malformed YAML" in verified.json()["results"][0]["detail"]


def test_unknown_pointer_field_is_named(project: Project) -> None:
    add(project)
    pointer = project.root / "datasets/demo/dataset.yaml"
    pointer.write_text(pointer.read_text(encoding="utf-8") + "owner: me\n", encoding="utf-8")
    result = project.cli("data", "show", "demo")
    assert result.code == 2
    assert "unknown field 'owner'" in result.stderr


def test_missing_columns_are_listed(project: Project) -> None:
    project.write_csv("data/x.csv", SMALL_CSV)
    result = project.cli("data", "add", "x", "--file", "data/x.csv", "-t", "tweet", "-l", "hate")
    assert result.code == 1
    assert "missing column(s): tweet, hate" in result.stderr
    assert not (project.root / "datasets/x").exists()


@pytest.mark.parametrize("name", ["..", "%2e%2e%2f", "/etc/x", "../../x"])
def test_unsafe_names_are_refused(project: Project, name: str) -> None:
    project.write_csv("data/x.csv", SMALL_CSV)
    result = project.cli("data", "add", name, "--file", "data/x.csv", "-t", "text", "-l", "label")
    assert result.code == 2
    assert "is not allowed" in result.stderr


@pytest.mark.parametrize("uri", ["../x.csv", "https://h/a/%2e%2e%2fb.csv", "/etc/passwd", "file:///etc/passwd"])
def test_unsafe_uris_are_refused(project: Project, uri: str) -> None:
    project.write_csv("data/x.csv", SMALL_CSV)
    result = project.cli("data", "add", "x", "--file", "data/x.csv", "--uri", uri, "-t", "text", "-l", "label")
    assert result.code == 2


def test_empty_and_non_utf8_csv(project: Project) -> None:
    project.write_csv("data/empty.csv", "")
    empty = project.cli("data", "add", "e", "--file", "data/empty.csv", "-t", "text", "-l", "label")
    assert empty.code == 1
    assert "is empty" in empty.stderr
    project.write_csv("data/latin.csv", "text,label\nação,1\n", encoding="latin-1")
    latin = project.cli("data", "add", "l", "--file", "data/latin.csv", "-t", "text", "-l", "label")
    assert latin.code == 1
    assert "not UTF-8" in latin.stderr
    assert "line 2" in latin.stderr


def test_unreachable_source_is_exit_3(project: Project) -> None:
    result = project.cli("data", "add", "web", "--uri", "http://127.0.0.1:9/x.csv", "-t", "text", "-l", "label")
    assert result.code == 3
    assert "127.0.0.1:9/x.csv" in result.stderr


def test_unknown_dataset_is_a_usage_error_with_json(project: Project) -> None:
    result = project.cli("data", "show", "nope", "--json")
    assert result.code == 2
    assert result.json()["error"] == "NotFoundError"


def test_bad_arguments_exit_2(project: Project) -> None:
    assert project.cli("data", "add").code == 2
    assert project.cli("data", "nosuchcommand").code == 2
    assert project.cli("data", "add", "x", "-t", "text", "-l", "label", "--label-map", "foo").code == 2


def test_console_script_exit_code(project: Project) -> None:
    script = Path(sys.executable).with_name("trunkml")
    done = subprocess.run([str(script), "data", "show", "missing"], capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert "no dataset named 'missing'" in done.stderr
    version = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=False)
    assert version.stdout.startswith("trunkml ")


def test_hashing_commands_do_not_load_pandas() -> None:
    """verify/pull/list/show only hash; pandas and pandera load lazily where data is parsed."""
    code = "import sys, trunkml.cli.main; print('pandas' in sys.modules, 'pandera' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]
