"""Inputs and environments that used to break the data layer: each one fails cleanly or works."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import SMALL_CSV, Project
from trunkml.datasets import AddRequest, add_dataset
from trunkml.datasets.catalog import Catalog
from trunkml.datasets.pointer import DataFormat, DatasetRef
from trunkml.datasets.split import SplitSpec, split_frame
from trunkml.datasets.tabular import read_table
from trunkml.errors import DataFormatError, UnsafePathError, UsageError

TRUNKML = str(Path(sys.executable).with_name("trunkml"))


def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class Truncating(BaseHTTPRequestHandler):
    """Promises 1000 bytes and sends 20."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(b"text,label\nola,0\nx,1")

    def log_message(self, format: str, *args: object) -> None:
        return None


class Failing(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_error(404 if self.path.endswith("missing.csv") else 500)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def truncating() -> Iterator[str]:
    yield from serve(Truncating)


@pytest.fixture
def failing() -> Iterator[str]:
    yield from serve(Failing)


@pytest.fixture
def silent() -> Iterator[str]:
    """Accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


def test_concurrent_adds_never_share_a_version(project: Project) -> None:
    files = [project.write_csv(f"data/c{i}.csv", SMALL_CSV + f"linha {i},0\n") for i in range(6)]
    procs = [
        subprocess.Popen(
            [TRUNKML, "data", "add", "cc", "--file", str(f), "-t", "text", "-l", "label"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for f in files
    ]
    errors = [proc.communicate(timeout=120)[1] for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 6, errors
    catalog = Catalog(project.root / "datasets")
    assert catalog.versions("cc") == [1, 2, 3, 4, 5, 6]
    digests = {catalog.get(DatasetRef(name="cc", version=v)).sha256 for v in range(1, 7)}
    assert len(digests) == 6


def test_truncated_download_is_exit_3_with_nothing_stored(project: Project, truncating: str) -> None:
    result = project.cli("data", "add", "t", "--uri", f"{truncating}/t.csv", "-t", "text", "-l", "label", "--json")
    assert result.code == 3
    assert result.json()["error"] == "UnavailableError"
    assert list((project.root / ".trunkml/datastore/tmp").iterdir()) == []


def test_http_errors_name_the_status(project: Project, failing: str) -> None:
    missing = project.cli("data", "add", "m", "--uri", f"{failing}/missing.csv", "-t", "text", "-l", "label")
    assert missing.code == 3
    assert "HTTP 404" in missing.stderr
    broken = project.cli("data", "add", "b", "--uri", f"{failing}/broken.csv", "-t", "text", "-l", "label")
    assert broken.code == 3
    assert "HTTP 500" in broken.stderr


def test_a_silent_server_times_out(project: Project, silent: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUNKML_HTTP_TIMEOUT_S", "1")
    result = project.cli("data", "add", "s", "--uri", f"{silent}/s.csv", "-t", "text", "-l", "label")
    assert result.code == 3


def test_symlinked_store_folder_is_never_written_through(project: Project, tmp_path: Path) -> None:
    service = project.service()
    pointer = add_dataset(
        service,
        AddRequest(name="d", file=project.write_csv("d.csv", SMALL_CSV), text_column="text", label_column="label"),
    ).pointer
    shard = service.store.object_path(pointer.sha256).parent
    for child in shard.iterdir():
        child.chmod(0o644)
        child.unlink()
    shard.rmdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    shard.symlink_to(outside)
    result = service.pull(["d"]).results[0]
    assert not result.ok
    assert list(outside.iterdir()) == []


def test_symlinked_versions_folder_is_refused(project: Project, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (project.root / "datasets" / "v").mkdir(parents=True)
    (project.root / "datasets" / "v" / "versions").symlink_to(outside)
    with pytest.raises(UnsafePathError):
        add_dataset(
            project.service(),
            AddRequest(name="v", file=project.write_csv("v.csv", SMALL_CSV), text_column="text", label_column="label"),
        )
    assert list(outside.iterdir()) == []


def test_verify_all_versions_sees_a_corrupt_old_version(project: Project) -> None:
    service = project.service()
    first = add_dataset(
        service,
        AddRequest(name="a", file=project.write_csv("a1.csv", SMALL_CSV), text_column="text", label_column="label"),
    ).pointer
    add_dataset(
        service,
        AddRequest(
            name="a", file=project.write_csv("a2.csv", SMALL_CSV + "z,0\n"), text_column="text", label_column="label"
        ),
    )
    path = service.store.object_path(first.sha256)
    path.chmod(0o644)
    path.write_bytes(b"broken")
    assert service.verify().ok
    everything = service.verify(all_versions=True)
    assert not everything.ok
    assert [r.dataset for r in everything.results if not r.ok] == ["a@1"]
    assert project.cli("data", "verify", "--all-versions").code == 1


def test_one_broken_pointer_does_not_hide_the_others(project: Project) -> None:
    add_dataset(
        project.service(),
        AddRequest(name="good", file=project.write_csv("g.csv", SMALL_CSV), text_column="text", label_column="label"),
    )
    (project.root / "datasets/bad").mkdir()
    (project.root / "datasets/bad/dataset.yaml").write_text("name: [\n", encoding="utf-8")
    listed = project.cli("data", "list", "--json")
    assert listed.code == 2
    assert {entry["name"] for entry in listed.json()} == {"good", "bad"}
    verified = project.cli("data", "verify", "--json").json()["results"]
    assert {(r["dataset"], r["ok"]) for r in verified} == {("bad", False), ("good@1", True)}


@pytest.mark.parametrize(
    ("setting", "value", "code"),
    [("TRUNKML_HOME", "file", 3), ("TRUNKML_PROJECT", "file", 2), ("TRUNKML_PROJECT", "/nonexistent/x", 2)],
)
def test_unusable_settings_fail_cleanly(
    project: Project, monkeypatch: pytest.MonkeyPatch, setting: str, value: str, code: int
) -> None:
    if value == "file":
        (project.root / "a-file").write_text("x", encoding="utf-8")
        value = str(project.root / "a-file")
    monkeypatch.setenv(setting, value)
    result = project.cli("data", "synth", "--rows", "20", "--add", "zz")
    assert result.code == code
    assert "Traceback" not in result.stderr


def test_home_with_tilde_is_expanded(project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.setenv("TRUNKML_HOME", "~/state")
    assert project.settings().home_dir == tmp_path / "user" / "state"


def test_ragged_csv_rows_are_refused_not_shifted() -> None:
    with pytest.raises(DataFormatError, match="more fields than its header"):
        read_table(b"text,label\nbom dia,0,x\nola,1,y\n", DataFormat.CSV, "text", "label", "r")


def test_non_text_values_are_refused() -> None:
    with pytest.raises(DataFormatError, match="are not text"):
        read_table(b'{"t": {"x": 1}, "y": 0}\n{"t": "ok", "y": 1}\n', DataFormat.JSONL, "t", "y", "j")


def test_labels_widened_to_float_still_map() -> None:
    frame = read_table(
        b'{"t": "a", "y": 1}\n{"t": "b", "y": null}\n{"t": "c", "y": 0}\n', DataFormat.JSONL, "t", "y", "j"
    )
    assert frame["label"].tolist() == ["1", "", "0"]


def test_integer_label_keys_in_yaml_are_accepted(project: Project) -> None:
    add_dataset(
        project.service(),
        AddRequest(name="k", file=project.write_csv("k.csv", SMALL_CSV), text_column="text", label_column="label"),
    )
    path = project.root / "datasets/k/dataset.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("'0': 0", "0: 0").replace("'1': 1", "1: 1"), encoding="utf-8"
    )
    assert project.service().catalog.get(DatasetRef(name="k")).labels == {"0": 0, "1": 1}


def test_mirror_names_are_not_globs_and_ambiguity_is_refused(
    make_project: Callable[..., Project], tmp_path: Path
) -> None:
    mirror = tmp_path / "mirror"
    for folder in ("a", "b"):
        (mirror / folder).mkdir(parents=True)
        (mirror / folder / "same.csv").write_text(SMALL_CSV + f"{folder},0\n", encoding="utf-8")
    project = make_project(mirror=mirror)
    star = project.cli("data", "add", "s", "--uri", "http://127.0.0.1:9/*.csv", "-t", "text", "-l", "label")
    assert star.code == 3
    twice = project.cli("data", "add", "t", "--uri", "http://127.0.0.1:9/same.csv", "-t", "text", "-l", "label")
    assert twice.code == 2
    assert "2 files named 'same.csv'" in twice.stderr


def test_bad_refs_and_ranges_are_usage_errors(project: Project) -> None:
    add_dataset(
        project.service(),
        AddRequest(name="r", file=project.write_csv("r.csv", SMALL_CSV), text_column="text", label_column="label"),
    )
    assert project.cli("data", "show", "r@²").code == 2
    assert project.cli("data", "validate", "r", "--against", "r", "--max-overlap", "5").code == 2
    assert project.cli("data", "add", "r2", "--file", "r.csv", "-t", "text", "-l", "label", "--version", "0").code == 2


def test_a_split_that_leaves_a_side_empty_is_refused() -> None:
    import pandas as pd

    frame = pd.DataFrame({"text": ["a", "b", "c"], "label": [0, 1, 0]})
    with pytest.raises(UsageError, match="leaves one side empty"):
        split_frame(frame, SplitSpec(eval_fraction=0.01, seed=1))
