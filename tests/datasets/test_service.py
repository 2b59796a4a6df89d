"""Dataset operations against real files, a real store and a real HTTP server in tmp_path."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.conftest import SMALL_CSV, Project
from trunkml.datasets import AddRequest, DataService, DatasetPointer, add_dataset
from trunkml.datasets.results import Where
from trunkml.errors import IntegrityError, NotFoundError, UnavailableError, UsageError


def add_small(project: Project, name: str = "demo", text: str = SMALL_CSV, **extra: object) -> AddRequest:
    path = project.write_csv(f"data/{name}.csv", text)
    return AddRequest(name=name, file=path, text_column="text", label_column="label", **extra)  # type: ignore[arg-type]


def test_add_writes_pointer_and_archive(project: Project) -> None:
    service = project.service()
    result = add_dataset(service, add_small(project))
    pointer = result.pointer
    assert result.created
    assert pointer.ref == "demo@1"
    assert pointer.uri == "data/demo.csv"
    assert pointer.sha256 == hashlib.sha256(SMALL_CSV.encode()).hexdigest()
    assert pointer.size_bytes == len(SMALL_CSV.encode())
    assert pointer.labels == {"0": 0, "1": 1}
    assert (project.root / "datasets/demo/dataset.yaml").is_file()
    assert (project.root / "datasets/demo/versions/1.yaml").is_file()
    assert service.store.contains(pointer.sha256)


def test_same_content_again_is_a_no_op(project: Project) -> None:
    service = project.service()
    add_dataset(service, add_small(project))
    again = add_dataset(service, add_small(project))
    assert not again.created
    assert again.pointer.version == 1


def test_new_content_bumps_the_version_and_keeps_the_old_one(project: Project) -> None:
    service = project.service()
    first = add_dataset(service, add_small(project)).pointer
    second = add_dataset(service, add_small(project, text=SMALL_CSV + "mais um texto,0\n")).pointer
    assert second.version == 2
    assert service.catalog.versions("demo") == [1, 2]
    assert service.load("demo@1").pointer == first
    assert len(service.load("demo@1").frame) == 5
    assert len(service.load("demo").frame) == 6
    assert service.verify(["demo@1", "demo@2"]).ok


def test_versions_only_go_up(project: Project) -> None:
    service = project.service()
    add_dataset(service, add_small(project))
    with pytest.raises(UsageError, match="already at version 1"):
        add_dataset(service, add_small(project, text=SMALL_CSV + "x,0\n", version=1))
    assert add_dataset(service, add_small(project, text=SMALL_CSV + "x,0\n", version=5)).pointer.version == 5


def test_files_outside_the_project_need_a_shareable_uri(project: Project, tmp_path: Path) -> None:
    outside = tmp_path / "outside.csv"
    outside.write_text(SMALL_CSV, encoding="utf-8")
    request = AddRequest(name="x", file=outside, text_column="text", label_column="label")
    with pytest.raises(UsageError, match="outside the project"):
        add_dataset(project.service(), request)
    shared = request.model_copy(update={"uri": "https://example.org/outside.csv"})
    assert add_dataset(project.service(), shared).pointer.uri == "https://example.org/outside.csv"


def test_labels_that_are_not_obviously_binary_need_a_map(project: Project) -> None:
    text = "text,label\na,hate\nb,normal\n"
    with pytest.raises(UsageError, match="--label-map"):
        add_dataset(project.service(), add_small(project, text=text))
    request = add_small(project, text=text, labels={"hate": 1, "normal": 0})
    assert add_dataset(project.service(), request).pointer.labels == {"hate": 1, "normal": 0}


def test_unknown_dataset_lists_what_exists(project: Project) -> None:
    service = project.service()
    add_dataset(service, add_small(project))
    with pytest.raises(NotFoundError, match=r"no dataset named 'nope' \(known: demo\)"):
        service.load("nope")
    with pytest.raises(NotFoundError, match=r"has no version 7 \(versions: 1\)"):
        service.load("demo@7")


def test_pull_restores_a_corrupt_object_and_verify_fails_closed_before(project: Project) -> None:
    service = project.service()
    pointer = add_dataset(service, add_small(project)).pointer
    path = service.store.object_path(pointer.sha256)
    path.chmod(0o644)
    path.write_bytes(path.read_bytes()[:-1] + b"X")
    summary = service.verify(["demo"])
    assert not summary.ok
    assert summary.exit_code == 1
    assert "content hashes to" in summary.results[0].detail
    assert "trunkml data pull demo@1" in summary.results[0].detail
    with pytest.raises(IntegrityError):
        service.load("demo")
    pulled = service.pull(["demo"])
    assert pulled.ok
    assert pulled.results[0].where is Where.URI
    assert service.verify().ok


def add_served(service: DataService, http_root: tuple[Path, str]) -> DatasetPointer:
    """Serve SMALL_CSV over HTTP, add it by URL, then drop it from the store."""
    root, base = http_root
    (root / "tweets.csv").write_text(SMALL_CSV, encoding="utf-8")
    request = AddRequest(name="web", uri=f"{base}/tweets.csv", text_column="text", label_column="label")
    pointer = add_dataset(service, request).pointer
    service.store.object_path(pointer.sha256).unlink()
    return pointer


def test_pull_over_http_from_a_real_server(project: Project, http_root: tuple[Path, str]) -> None:
    service = project.service()
    pointer = add_served(service, http_root)
    assert pointer.uri == f"{http_root[1]}/tweets.csv"
    result = service.pull(["web"]).results[0]
    assert result.ok
    assert result.where is Where.URI
    assert service.load("web").frame["text"].tolist()[0] == "odeio os zorbanos"


def test_changed_remote_content_fails_closed_and_stores_nothing(project: Project, http_root: tuple[Path, str]) -> None:
    service = project.service()
    pointer = add_served(service, http_root)
    (http_root[0] / "tweets.csv").write_text(SMALL_CSV.replace("praia", "praça"), encoding="utf-8")
    result = service.pull(["web"]).results[0]
    assert not result.ok
    assert result.exit_code == 1
    assert "sha256 mismatch" in result.detail
    assert not service.store.contains(pointer.sha256)
    assert list((service.store.root / "tmp").iterdir()) == []


def test_unreachable_remote_is_exit_3_with_the_uri(project: Project) -> None:
    request = AddRequest(name="web", uri="http://127.0.0.1:9/nothing.csv", text_column="text", label_column="label")
    with pytest.raises(UnavailableError, match=r"127\.0\.0\.1:9/nothing\.csv"):
        add_dataset(project.service(), request)


def test_mirror_is_searched_by_file_name_and_by_digest(make_project: object, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "nested").mkdir(parents=True)
    (mirror / "nested" / "tweets.csv").write_text(SMALL_CSV, encoding="utf-8")
    project: Project = make_project(mirror=mirror)  # type: ignore[operator]
    service = project.service()
    pointer = add_dataset(
        service,
        AddRequest(name="web", uri="https://example.invalid/x/tweets.csv", text_column="text", label_column="label"),
    ).pointer
    service.store.object_path(pointer.sha256).unlink()
    by_name = service.verify(["web"]).results[0]
    assert by_name.ok
    assert by_name.where is Where.MIRROR
    (mirror / "nested" / "tweets.csv").rename(mirror / pointer.sha256)
    assert service.pull(["web"]).results[0].where is Where.MIRROR
    assert service.load("web").pointer == pointer


def add_remote_then_forget(project: Project, service: DataService) -> DatasetPointer:
    """Add a dataset whose pointer names a remote URI, then drop it from the store."""
    request = AddRequest(
        name="web",
        uri="https://example.invalid/tweets.csv",
        file=project.write_csv("tweets.csv", SMALL_CSV),
        text_column="text",
        label_column="label",
    )
    pointer = add_dataset(service, request).pointer
    service.store.object_path(pointer.sha256).unlink()
    return pointer


def test_a_wrong_file_in_the_mirror_is_never_used(make_project: object, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    project: Project = make_project(mirror=mirror)  # type: ignore[operator]
    service = project.service()
    pointer = add_remote_then_forget(project, service)
    (mirror / "tweets.csv").write_text(SMALL_CSV + "tampered,1\n", encoding="utf-8")
    assert not service.verify(["web"]).ok
    result = service.pull(["web"]).results[0]
    assert not result.ok
    assert "sha256 mismatch" in result.detail
    assert not service.store.contains(pointer.sha256)


def test_mirror_symlinks_leading_outside_are_ignored(make_project: object, tmp_path: Path) -> None:
    outside = tmp_path / "secret" / "tweets.csv"
    outside.parent.mkdir()
    outside.write_text(SMALL_CSV, encoding="utf-8")
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "tweets.csv").symlink_to(outside)
    project: Project = make_project(mirror=mirror)  # type: ignore[operator]
    service = project.service()
    add_remote_then_forget(project, service)
    assert service.verify(["web"]).results[0].where.value == "nowhere"


def test_project_relative_uri_symlinked_outside_is_refused(project: Project, tmp_path: Path) -> None:
    service = project.service()
    pointer = add_dataset(service, add_small(project)).pointer
    (project.root / "data" / "demo.csv").unlink()
    outside = tmp_path / "elsewhere.csv"
    outside.write_text(SMALL_CSV, encoding="utf-8")
    (project.root / "data" / "demo.csv").symlink_to(outside)
    service.store.object_path(pointer.sha256).unlink()
    result = service.pull(["demo"]).results[0]
    assert not result.ok
    assert "outside the project" in result.detail


def test_load_valid_refuses_invalid_data(project: Project) -> None:
    service: DataService = project.service()
    add_dataset(service, add_small(project, text="text,label\n,1\nb,0\nc,1\n"))
    with pytest.raises(Exception, match=r"failed validation: 1 row\(s\) of .text. have empty or blank text"):
        service.load_valid("demo")
