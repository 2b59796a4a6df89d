"""Validation reports every problem at once, with row numbers a person can look up."""

from __future__ import annotations

import pandas as pd

from trunkml.datasets.validation import validate_frame

LABELS = {"0": 0, "1": 1}


def frame(rows: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["text", "label"])


def test_clean_data_passes_with_balance_reported() -> None:
    report = validate_frame(frame([("a", "0"), ("b", "1"), ("c", "0"), ("d", "0")]), LABELS, "demo@1")
    assert report.ok
    assert report.class_counts == {0: 3, 1: 1}
    assert report.positive_share == 0.25
    assert report.errors == []


def test_all_problems_are_reported_together() -> None:
    rows = [("ok", "0"), ("", "1"), ("   ", "0"), ("fine", "2"), ("also", "hate"), ("x", "1")]
    report = validate_frame(frame(rows), LABELS, "demo@1")
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
    report = validate_frame(frame(rows), LABELS, "demo@1")
    assert report.ok
    codes = {issue.code: issue for issue in report.warnings}
    assert codes["duplicate_text"].count == 4
    assert "2 distinct texts" in codes["duplicate_text"].message
    assert codes["conflicting_labels"].count == 1


def test_a_single_class_is_an_error() -> None:
    report = validate_frame(frame([("a", "0"), ("b", "0")]), LABELS, "demo@1")
    assert not report.ok
    assert report.errors[0].code == "single_class"
