"""Datasets: pointers (spec), the verified content store, mirror, validation, splits, demo data.

Parsing, validation and splits (pandas, pandera) live in ``tabular``, ``validation`` and
``split`` and are imported where used, so commands that only hash stay fast to start.
"""

from trunkml.datasets.adding import AddRequest, add_dataset, add_split, synth_dataset
from trunkml.datasets.pointer import DataFormat, DatasetPointer, DatasetRef
from trunkml.datasets.records import AddResult, SyncResult, SyncSummary
from trunkml.datasets.service import DataService, LoadedDataset
from trunkml.datasets.synth import SynthSpec

__all__ = [
    "AddRequest",
    "AddResult",
    "DataFormat",
    "DataService",
    "DatasetPointer",
    "DatasetRef",
    "LoadedDataset",
    "SplitRecord",
    "SplitSpec",
    "SyncResult",
    "SyncSummary",
    "SynthSpec",
    "ValidationOutcome",
    "add_dataset",
    "add_split",
    "split_frame",
    "synth_dataset",
]
