"""Device and precision, chosen automatically, and the one retry after running out of GPU memory."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import TypeVar

import torch

from trunkml.errors import ConfigError

log = logging.getLogger("trunkml.training.families.transformer")
T = TypeVar("T")
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def pick_device(requested: str = "auto") -> torch.device:
    """``auto``: CUDA when there is a GPU, then Apple's MPS, else the CPU; a named device must exist."""
    available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    if requested != "auto":
        if not available.get(requested, False):
            raise ConfigError(
                f"device '{requested}' is not available on this machine",
                hint="use `device: auto` (CUDA, then MPS, else the CPU) or `device: cpu`",
            )
        return torch.device(requested)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def pick_precision(device: torch.device, requested: str = "auto") -> str:
    """``auto``: bf16 on a GPU that supports it, fp16 on an older GPU, fp32 elsewhere (CPU autocast is slower)."""
    if requested != "auto":
        return requested
    if device.type != "cuda":
        return "fp32"
    # Native bf16 only (Ampere and later): emulated bf16 on a T4 or V100 is slower than fp16.
    return "bf16" if torch.cuda.is_bf16_supported(including_emulation=False) else "fp16"


@contextlib.contextmanager
def autocast(device: torch.device, precision: str) -> Iterator[None]:
    """Mixed precision for the forward pass (nothing for fp32)."""
    if precision == "fp32":
        yield
        return
    with torch.autocast(device_type=device.type, dtype=DTYPES[precision]):
        yield


def free_memory(device: torch.device) -> None:
    """Give cached blocks back after an out-of-memory error, so the retry starts clean."""
    if device.type == "cuda":
        torch.cuda.empty_cache()


def halving_once(run: Callable[[int], T], batch_size: int, device: torch.device, what: str) -> tuple[T, int]:
    """``run(batch_size)``; on out-of-memory, log, halve the batch size and retry once.

    Returns the result and the batch size that worked, so callers keep using it. An
    out-of-memory error in the retry propagates: halving again within one call would
    hide a setting that cannot fit (max_length, model size) behind ever slower runs.
    The retry starts after the ``except`` block, so the failed attempt's traceback and
    the tensors its frames hold are released before memory is freed.
    """
    try:
        return run(batch_size), batch_size
    except torch.OutOfMemoryError:
        if batch_size == 1:
            raise
    half = batch_size // 2
    log.warning("out of memory on %s while %s at batch size %d; halving to %d and retrying once",
                device, what, batch_size, half)  # fmt: skip
    free_memory(device)
    return run(half), half
