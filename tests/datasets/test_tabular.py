"""Reading data: clear errors for empty, non-UTF-8 and missing-column files; text kept as text."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from trunkml.datasets.pointer import DataFormat
from trunkml.datasets.tabular import read_table
from trunkml.errors import DataFormatError


def read(data: bytes, fmt: DataFormat = DataFormat.CSV, text: str = "text", label: str = "label") -> pd.DataFrame:
    return read_table(data, fmt, text, label, "demo")


def test_empty_csv_is_a_clear_error() -> None:
    with pytest.raises(DataFormatError, match="dataset 'demo' is empty"):
        read(b"")
    with pytest.raises(DataFormatError, match="dataset 'demo' is empty"):
        read(b"\n  \n")


def test_header_without_rows_is_a_clear_error() -> None:
    with pytest.raises(DataFormatError, match="has a header but no rows"):
        read(b"text,label\n")


def test_non_utf8_names_the_line() -> None:
    data = "text,label\nola,0\nação,1\n".encode("latin-1")
    with pytest.raises(DataFormatError, match=r"not UTF-8: invalid byte 0xe7 on line 3") as caught:
        read(data)
    assert caught.value.hint is not None
    assert "iconv" in caught.value.hint


def test_missing_columns_are_all_listed() -> None:
    with pytest.raises(DataFormatError, match="missing column\\(s\\): tweet, hate") as caught:
        read(b"text,label\nola,0\n", text="tweet", label="hate")
    assert caught.value.hint is not None
    assert "available columns: text, label" in caught.value.hint


def test_values_stay_text() -> None:
    frame = read(b"text,label,other\nNA,0,x\nnull,1,y\n\xef\xbb\xbf,0,z\n")
    assert frame.columns.tolist() == ["text", "label"]
    assert frame["text"].tolist() == ["NA", "null", "\ufeff"]
    assert frame["label"].tolist() == ["0", "1", "0"]


def test_utf8_bom_is_accepted() -> None:
    assert read(b"\xef\xbb\xbftext,label\nola,0\n")["text"].tolist() == ["ola"]


def test_parquet_and_jsonl() -> None:
    source = pd.DataFrame({"t": ["a", "b"], "y": [0, 1]})
    buffer = io.BytesIO()
    source.to_parquet(buffer)
    parquet = read(buffer.getvalue(), DataFormat.PARQUET, "t", "y")
    assert parquet["label"].tolist() == ["0", "1"]
    jsonl = read(b'{"t": "a", "y": 0}\n{"t": "b", "y": 1}\n', DataFormat.JSONL, "t", "y")
    assert jsonl["text"].tolist() == ["a", "b"]


def test_malformed_jsonl_is_a_clear_error() -> None:
    with pytest.raises(DataFormatError, match="not valid jsonl"):
        read(b'{"t": "a"\n', DataFormat.JSONL, "t", "y")
