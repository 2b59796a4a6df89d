"""Pointer names and URIs cannot be used to escape the project or the store."""

from __future__ import annotations

import pytest

from trunkml.datasets.pointer import DatasetPointer, DatasetRef, check_name, check_uri
from trunkml.errors import UnsafePathError, UsageError


@pytest.mark.parametrize(
    "name", ["..", "../etc", "a/../../b", "%2e%2e%2f", "%2e%2e", "/etc/passwd", "a/b", "a\\b", "UPPER", "", "-x"]
)
def test_unsafe_or_malformed_names_are_refused(name: str) -> None:
    with pytest.raises(UnsafePathError):
        check_name(name)


@pytest.mark.parametrize("name", ["fortuna-2019", "demo", "hate.br_v2", "a1"])
def test_ordinary_names_pass(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize(
    "uri",
    [
        "../data.csv",
        "data/../../secret.csv",
        "https://example.org/a/%2e%2e%2f%2e%2e%2fb.csv",
        "https://example.org/a/%2e%2e/b.csv",
        "https://example.org/a/%252e%252e/b.csv",
        "/etc/passwd",
        "file:///etc/passwd",
        "C:/data.csv",
    ],
)
def test_traversal_and_absolute_uris_are_refused(uri: str) -> None:
    with pytest.raises(UnsafePathError):
        check_uri(uri)


def test_unknown_scheme_is_refused() -> None:
    with pytest.raises(UsageError, match="unsupported scheme 'ftp'"):
        check_uri("ftp://example.org/x.csv")


@pytest.mark.parametrize(
    "uri", ["data/x.csv", "file:data/x.csv", "https://example.org/x.csv", "s3://bucket/x.parquet", "synth:demo?rows=10"]
)
def test_supported_uris_pass(uri: str) -> None:
    assert check_uri(uri) == uri


def pointer(**overrides: object) -> DatasetPointer:
    fields: dict[str, object] = {
        "name": "demo",
        "version": 1,
        "uri": "data/x.csv",
        "sha256": "0" * 64,
        "size_bytes": 1,
        "text_column": "text",
        "label_column": "label",
        "labels": {"0": 0, "1": 1},
    }
    return DatasetPointer.model_validate({**fields, **overrides})


def test_labels_must_map_to_zero_or_one() -> None:
    with pytest.raises(ValueError, match="must map raw label values to 0 or 1"):
        pointer(labels={"hate": 2})


def test_text_and_label_columns_must_differ() -> None:
    with pytest.raises(ValueError, match="must be different"):
        pointer(label_column="text")


def test_pointer_is_frozen() -> None:
    with pytest.raises(ValueError, match="frozen"):
        pointer().version = 2  # type: ignore[misc]


def test_refs_parse_name_and_version() -> None:
    assert DatasetRef.parse("demo") == DatasetRef(name="demo")
    assert DatasetRef.parse("demo@3") == DatasetRef(name="demo", version=3)
    assert str(DatasetRef.parse("demo@3")) == "demo@3"
    with pytest.raises(UsageError, match="NAME@VERSION"):
        DatasetRef.parse("demo@latest")
    with pytest.raises(UnsafePathError):
        DatasetRef.parse("../x@1")
