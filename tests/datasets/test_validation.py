"""Validation reports every problem at once, with row numbers a person can look up."""

from __future__ import annotations

import pandas as pd

from trunkml.datasets.loaded import LoadedDataset
from trunkml.datasets.pointer import DatasetPointer
from trunkml.datasets.validation import validate_frame

LABELS = {"0": 0, "1": 1}
SHA = "0" * 64


def frame(rows: list[tuple[str, str]]) -> LoadedDataset:
    pointer = DatasetPointer(
        name="demo", version=1, uri="d.csv", sha256=SHA, size_bytes=1, text_column="t", label_column="l", labels=LABELS
    )
    return LoadedDataset(pointer, pd.DataFrame(rows, columns=["text", "label"]))


def tabular(rows: list[tuple[str, str, str, str]]) -> LoadedDataset:
    schema = {
        "target": "y",
        "features": [
            {"name": "age", "type": "numeric"},
            {"name": "plan", "type": "categorical", "categories": ["basic", "pro"]},
            {"name": "active", "type": "boolean", "nullable": True},
        ],
    }
    pointer = DatasetPointer.model_validate(
        {"name": "t", "version": 1, "uri": "t.csv", "sha256": SHA, "size_bytes": 1, "schema": schema, "labels": LABELS}
    )
    return LoadedDataset(pointer, pd.DataFrame(rows, columns=["age", "plan", "active", "label"]))


def test_clean_data_passes_with_balance_reported() -> None:
    report = validate_frame(frame([("a", "0"), ("b", "1"), ("c", "0"), ("d", "0")]))
    assert report.ok
    assert report.class_counts == {0: 3, 1: 1}
    assert report.positive_share == 0.25
    assert report.errors == []


def test_all_problems_are_reported_together() -> None:
    rows = [("ok", "0"), ("", "1"), ("   ", "0"), ("fine", "2"), ("also", "hate"), ("x", "1")]
    report = validate_frame(frame(rows))
    assert not report.ok
    by_code = {issue.code.split(":")[0]: issue for issue in report.errors}
    assert set(by_code) == {"text", "label"}
    assert by_code["text"].count == 2
    assert by_code["text"].rows == [2, 3]
    assert by_code["label"].count == 2
    assert by_code["label"].rows == [4, 5]
    assert "outside the pointer's mapping" in by_code["label"].message


def test_duplicates_and_conflicting_labels_are_warned() -> None:
    rows = [("Odeio isto!", "1"), ("odeio isto", "0"), ("outro", "0"), ("outro", "0"), ("único", "1")]
    report = validate_frame(frame(rows))
    assert report.ok
    codes = {issue.code: issue for issue in report.warnings}
    assert codes["duplicate_text"].count == 4
    assert "2 distinct rows" in codes["duplicate_text"].message
    assert codes["conflicting_labels"].count == 1


def test_a_single_class_is_an_error() -> None:
    report = validate_frame(frame([("a", "0"), ("b", "0")]))
    assert not report.ok
    assert report.errors[0].code == "single_class"


def test_a_wrong_type_names_the_column_and_shows_the_value() -> None:
    rows = [("31", "basic", "yes", "0"), ("abc", "pro", "", "1"), ("", "pro", "no", "0"), ("40", "pro", "maybe", "7")]
    report = validate_frame(tabular(rows))
    by_code = {issue.code: issue for issue in report.errors}
    assert set(by_code) == {"age:numeric", "age:not_missing", "active:boolean", "label:label_in_['0', '1']"}
    assert by_code["age:numeric"].message == "1 row(s) of 'age' are not numbers (e.g. 'abc' on row 2)"
    assert by_code["active:boolean"].rows == [4]
    assert by_code["label:label_in_['0', '1']"].examples == ["'7'"]
