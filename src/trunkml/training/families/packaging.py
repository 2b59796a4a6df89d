"""What both families ship with a model: the input contract and the pinned serving requirements."""

from __future__ import annotations

from importlib import metadata
from typing import Any

import pandas as pd


def pinned(names: tuple[str, ...]) -> list[str]:
    """``name==version`` for each installed distribution, without local build labels (``2.13.0+cpu`` → ``2.13.0``).

    Dropping the label lets a GPU machine serve the model with its own CUDA build of torch.
    """
    return [f"{name}=={metadata.version(name).split('+')[0]}" for name in names]


def texts_of(model_input: Any) -> list[str]:
    """The ``text`` column (or a plain sequence) as strings; missing values become empty texts."""
    column = model_input["text"] if isinstance(model_input, pd.DataFrame) else model_input
    return [text if isinstance(text, str) else "" if pd.isna(text) else str(text) for text in list(column)]
