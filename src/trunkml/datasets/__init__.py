"""Datasets: pointers (spec), the verified content store, mirror, generated sources, validation, splits.

Parsing, validation and splits (pandas, pandera) live in ``tabular``, ``validation`` and
``split`` and are imported where used, so commands that only hash stay fast to start.
"""

from trunkml.datasets.adding import AddRequest, add_dataset, add_split
from trunkml.datasets.loaded import LoadedDataset
from trunkml.datasets.pointer import DataFormat, DatasetPointer, DatasetRef
from trunkml.datasets.results import AddResult, SyncResult, SyncSummary
from trunkml.datasets.service import DataService

__all__ = [
    "AddRequest",
    "AddResult",
    "DataFormat",
    "DataService",
    "DatasetPointer",
    "DatasetRef",
    "LoadedDataset",
    "SyncResult",
    "SyncSummary",
    "add_dataset",
    "add_split",
]
