"""Datasets derived from another pointer: the train and eval parts of a seeded split.

A derived pointer's ``uri`` is ``split:PARENT@V?part=eval&seed=42&eval_fraction=0.2``.
Its bytes are regenerated from the verified parent (a canonical CSV of the parent's features,
as written, and an integer ``label``) and
must hash to the derived pointer's own sha256, so a frozen evaluation set is a pointer
like any other: pinned, verifiable, and shareable without committing data.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from trunkml.datasets.columns import LABEL
from trunkml.datasets.loaded import Loader
from trunkml.datasets.pointer import DatasetRef
from trunkml.datasets.split import SplitRecord, SplitSpec, split_rows

if TYPE_CHECKING:
    import pandas as pd
from trunkml.errors import UsageError

PARTS = ("train", "eval")


def split_uri(parent: str, part: str, spec: SplitSpec) -> str:
    """The ``split:`` URI of one part of ``parent`` (``NAME@V``)."""
    return f"split:{parent}?" + urlencode({"part": part, "seed": spec.seed, "eval_fraction": spec.eval_fraction})


def parse_split_uri(uri: str) -> tuple[DatasetRef, str, SplitSpec]:
    """(parent ref, part, spec) from a ``split:`` URI; the parent must name a version."""
    parts = urlsplit(uri)
    query = dict(parse_qsl(parts.query))
    parent = DatasetRef.parse(parts.path)
    part = query.pop("part", "")
    if parent.version is None or part not in PARTS:
        raise UsageError(f"bad split uri '{uri}'", hint="split:NAME@VERSION?part=train|eval&seed=S&eval_fraction=F")
    return parent, part, SplitSpec.model_validate(query)


def canonical_csv(features: pd.DataFrame, labels: list[Any]) -> bytes:
    """CSV bytes of raw ``features`` and ``label`` (a class index, or a regression target as written), the same
    way on every machine."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*features.columns, LABEL])
    writer.writerows([*row, label] for row, label in zip(features.itertuples(index=False), labels, strict=True))
    return out.getvalue().encode("utf-8")


def derive(load_valid: Loader, uri: str) -> tuple[bytes, SplitRecord]:
    """Regenerate the bytes of a ``split:`` dataset from its parent, as ``load_valid`` verifies and validates it."""
    parent, part, spec = parse_split_uri(uri)
    loaded = load_valid(str(parent))
    train_rows, eval_rows, record = split_rows(loaded.labelled(), spec)
    chosen = loaded.frame.iloc[train_rows if part == "train" else eval_rows]
    if loaded.pointer.task == "regression":
        labels = chosen[LABEL].tolist()  # the number as written
    else:
        labels = chosen[LABEL].map(loaded.pointer.labels).astype(int).tolist()
    return canonical_csv(chosen.drop(columns=[LABEL]), labels), record
