"""Parse verified dataset bytes into a frame of raw text values: the features and the raw ``label``.

Everything is read as text (``keep_default_na=False``) so a tweet saying "NA" stays
a tweet, and label values are compared with the pointer's mapping as written. A
text-only pointer gives ``text`` and ``label``; a pointer with a schema gives its
features under their own names, then ``label``. Types come later, from the schema.
"""

from __future__ import annotations

import csv
import io
import warnings

import pandas as pd

from trunkml.datasets.columns import LABEL, TEXT
from trunkml.datasets.pointer import DataFormat, DatasetPointer
from trunkml.errors import DataFormatError


def _decode(data: bytes, label: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataFormatError(
            f"dataset '{label}' is not UTF-8: invalid byte 0x{data[exc.start]:02x} on line {line} (offset {exc.start})",
            hint="re-encode the file as UTF-8 (e.g. iconv -f latin1 -t utf-8) and add it again",
        ) from exc


def _read_csv(data: bytes, label: str) -> pd.DataFrame:
    text = _decode(data, label)
    if not text.strip():
        raise DataFormatError(f"dataset '{label}' is empty (no header, no rows)")
    try:
        with warnings.catch_warnings():
            # index_col=False: a row with an extra field must never turn the first column into an index.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, index_col=False)
    except pd.errors.ParserWarning as exc:
        raise DataFormatError(
            f"dataset '{label}' has rows with more fields than its header{_ragged_line(text)}"
        ) from exc
    except pd.errors.ParserError as exc:
        raise DataFormatError(f"dataset '{label}' is not valid CSV: {exc}") from exc


def _ragged_line(text: str) -> str:
    rows = csv.reader(io.StringIO(text))
    width = len(next(rows, []))
    for number, row in enumerate(rows, start=2):
        if len(row) > width:
            return f" (first at record {number}: {len(row)} fields, header has {width})"
    return ""


def _read_other(data: bytes, fmt: DataFormat, label: str) -> pd.DataFrame:
    if not data.strip():
        raise DataFormatError(f"dataset '{label}' is empty (0 bytes of {fmt.value})")
    try:
        if fmt is DataFormat.PARQUET:
            return pd.read_parquet(io.BytesIO(data))
        _decode(data, label)
        return pd.read_json(io.BytesIO(data), lines=True, dtype=False)
    except (ValueError, OSError) as exc:
        raise DataFormatError(f"dataset '{label}' is not valid {fmt.value}: {exc}") from exc


def require_columns(frame: pd.DataFrame, wanted: list[str], label: str) -> None:
    """Raise one error listing every column of ``wanted`` that ``frame`` lacks."""
    missing = [column for column in wanted if column not in frame.columns]
    if missing:
        available = ", ".join(map(str, frame.columns[:20]))
        raise DataFormatError(
            f"dataset '{label}' is missing column(s): {', '.join(missing)}",
            hint=f"available columns: {available}; fix the column options or the pointer",
        )


def parse_file(data: bytes, fmt: DataFormat, label: str) -> pd.DataFrame:
    """Every column of the file, as read (CSV values as text), refusing an empty file or a header without rows."""
    frame = _read_csv(data, label) if fmt is DataFormat.CSV else _read_other(data, fmt, label)
    if frame.empty:
        raise DataFormatError(f"dataset '{label}' has a header but no rows")
    return frame


def raw_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every value as text: missing → "", whole floats → "1"."""
    return pd.DataFrame({column: frame[column].map(_as_text) for column in frame.columns}, index=frame.index)


def read_frame(data: bytes, pointer: DatasetPointer, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """The raw rows ``pointer`` describes: its features (by name) and ``label``, plus the ``extra`` columns."""
    if pointer.data_schema is None:
        return read_table(
            data, pointer.format, pointer.text_column or TEXT, pointer.label_column or LABEL, pointer.ref, extra
        )
    schema = pointer.data_schema
    frame = parse_file(data, pointer.format, pointer.ref)
    wanted = [*schema.names, schema.target, *(column for column in extra if column not in schema.names)]
    require_columns(frame, wanted, pointer.ref)
    out = raw_text(frame[[*schema.names, *(c for c in wanted[len(schema.names) + 1 :])]])
    out.insert(len(schema.names), LABEL, frame[schema.target].map(_as_text))
    return out.reset_index(drop=True)


def read_table(
    data: bytes, fmt: DataFormat, text_column: str, label_column: str, label: str, extra: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Return a frame with ``text`` and ``label`` (both strings), plus the ``extra`` columns as text, in file order."""
    frame = _read_csv(data, label) if fmt is DataFormat.CSV else _read_other(data, fmt, label)
    require_columns(frame, [text_column, label_column, *extra], label)
    if frame.empty:
        raise DataFormatError(f"dataset '{label}' has a header but no rows")
    not_text = [i for i, value in enumerate(frame[text_column]) if not (_missing(value) or isinstance(value, str))]
    if not_text:
        rows = ", ".join(str(i + 1) for i in not_text[:5])
        raise DataFormatError(
            f"dataset '{label}': {len(not_text)} value(s) of '{text_column}' are not text (rows {rows})"
        )
    out = pd.DataFrame({TEXT: frame[text_column].map(_as_text), LABEL: frame[label_column].map(_as_text)})
    for column in extra:
        out[column] = frame[column].map(_as_text)
    return out.reset_index(drop=True)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _as_text(value: object) -> str:
    """Missing → "", whole floats → "1" (JSON and parquet may widen int labels to float), else str()."""
    if _missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
