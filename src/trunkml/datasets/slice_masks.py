"""Slices of an evaluation set: which rows belong to each slice a pointer declares.

A pointer's ``slices`` names columns, word-count buckets and numeric buckets (see
``SliceSpec``). The columns are read from the verified file; for a ``split:`` dataset, whose
canonical file has only the features and ``label``, from its verified parent, through the
same seeded split, and checked row for row against the split's own verified rows.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from trunkml.datasets.columns import LABEL, TEXT
from trunkml.datasets.derived import parse_split_uri
from trunkml.datasets.loaded import LoadedDataset, Loader, ReadVerified
from trunkml.datasets.pointer import SPLIT_SCHEME, SliceSpec
from trunkml.datasets.split import split_rows
from trunkml.datasets.tabular import read_frame
from trunkml.errors import DataFormatError, IntegrityError

MAX_VALUES = 30
FLAG_TRUE = frozenset({"1", "true", "True", "TRUE", "yes"})
FLAG_VALUES = FLAG_TRUE | frozenset({"0", "", "false", "False", "FALSE", "no"})

Masks = dict[str, NDArray[np.bool_]]


def slice_masks(loaded: LoadedDataset, read_verified: ReadVerified, load_valid: Loader) -> Masks:
    """Slice name → boolean row mask over ``loaded``'s rows, in the order the pointer declares them.

    Slice columns are read again from the stored bytes (``read_verified``); for a ``split:`` part, from its
    parent's (``load_valid``).
    """
    spec = loaded.pointer.slices
    if spec is None:
        return {}
    masks: Masks = {}
    if spec.columns:
        columns = _columns(loaded, spec, read_verified, load_valid)
        for column in spec.columns:
            masks.update(column_masks(column, columns[column]))
    if spec.length_buckets:
        texts = loaded.frame[TEXT] if TEXT in loaded.frame else loaded.frame[loaded.frame.columns[0]]
        masks.update(length_masks(texts, spec.length_buckets))
    features = loaded.features() if spec.numeric_buckets else None
    for column, edges in spec.numeric_buckets.items():
        assert features is not None
        masks.update(bucket_masks(column, features[column].to_numpy(dtype=float), edges))
    return masks


def _columns(loaded: LoadedDataset, spec: SliceSpec, read_verified: ReadVerified, load_valid: Loader) -> pd.DataFrame:
    pointer = loaded.pointer
    if not pointer.uri.startswith(f"{SPLIT_SCHEME}:"):
        return read_frame(read_verified(pointer.sha256, pointer.ref), pointer, spec.columns)
    parent_ref, part, split = parse_split_uri(pointer.uri)
    parent = load_valid(str(parent_ref))
    raw = read_frame(read_verified(parent.pointer.sha256, parent.pointer.ref), parent.pointer, spec.columns)
    train_rows, eval_rows, _ = split_rows(parent.labelled(), split)
    chosen = raw.iloc[eval_rows if part == "eval" else train_rows].reset_index(drop=True)
    features = [column for column in loaded.frame.columns if column != LABEL]
    if not chosen[features].equals(loaded.frame[features]):
        raise IntegrityError(
            f"the slice columns of {pointer.ref} come from {parent.pointer.ref}, but its split does not give "
            f"{pointer.ref}'s rows back"
        )
    return chosen


def column_masks(column: str, values: pd.Series) -> Masks:
    """A 0/1 column is one slice (rows with 1); another column gives one slice per value."""
    present = set(values.unique().tolist())
    if present <= FLAG_VALUES:
        return {column: values.isin(FLAG_TRUE).to_numpy(dtype=bool)}
    distinct = sorted(value for value in present if value != "")
    if len(distinct) > MAX_VALUES:
        raise DataFormatError(
            f"slice column '{column}' has {len(distinct)} distinct values; a slice column is 0/1 or has at most "
            f"{MAX_VALUES} values",
            hint="bucket it into a new column first, or drop it from the pointer's slices",
        )
    return {f"{column}={value}": (values == value).to_numpy(dtype=bool) for value in distinct}


def bucket_masks(column: str, values: NDArray[np.float64], edges: tuple[float, ...]) -> Masks:
    """Numeric buckets: ``column <e1``, ``column e1-e2``, …, ``column >=en`` (missing values in none)."""
    masks: Masks = {f"{column} <{edges[0]:g}": values < edges[0]}
    for low, high in pairwise(edges):
        masks[f"{column} {low:g}-{high:g}"] = (values >= low) & (values < high)
    masks[f"{column} >={edges[-1]:g}"] = values >= edges[-1]
    return masks


def length_masks(texts: pd.Series, edges: tuple[int, ...]) -> Masks:
    """Word-count buckets: ``words <e1``, ``words e1-(e2-1)``, …, ``words >=en``."""
    words = np.array([len(str(text).split()) for text in texts], dtype=np.int64)
    masks: Masks = {f"words <{edges[0]}": words < edges[0]}
    for low, high in pairwise(edges):
        masks[f"words {low}-{high - 1}"] = (words >= low) & (words < high)
    masks[f"words >={edges[-1]}"] = words >= edges[-1]
    return masks
