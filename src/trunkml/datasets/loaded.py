"""A verified dataset version in memory: its pointer and its rows, and the loader signatures that produce one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from trunkml.datasets.pointer import DatasetPointer

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class LoadedDataset:
    """A verified dataset version: its pointer and its raw rows (the features as text, then the raw ``label``)."""

    pointer: DatasetPointer
    frame: pd.DataFrame

    def features(self) -> pd.DataFrame:
        """The schema's features, typed (numbers as float, flags as bool, categories and texts as str)."""
        from trunkml.datasets.schema import typed_frame

        return typed_frame(self.frame, self.pointer.resolved_schema)

    def labelled(self) -> pd.DataFrame:
        """The typed features plus ``label``: the class (0/1, or 0..K-1) mapped through the pointer, or the number."""
        import pandas as pd

        from trunkml.datasets.columns import LABEL

        if self.pointer.task == "regression":
            return self.features().assign(**{LABEL: pd.to_numeric(self.frame[LABEL]).astype(float)})
        return self.features().assign(**{LABEL: self.frame[LABEL].map(self.pointer.labels).astype(int)})


Loader = Callable[[str], LoadedDataset]
"""Loads, verifies and validates a dataset version by ref (``NAME@V``): ``DataService.load_valid``."""
ReadVerified = Callable[[str, str], bytes]
"""The bytes of a stored object by (sha256, label for errors), re-hashed: ``ContentStore.read_verified``."""
