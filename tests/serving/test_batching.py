"""The micro-batcher on its own: batches form, callers get their own slice, and nobody is left waiting."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from trunkml.serving.batching import BatcherClosed, MicroBatcher


def scores_by_length(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    return np.array([len(t) % 2 for t in texts]), np.array([len(t) / 100 for t in texts])


def test_concurrent_callers_share_batches_and_get_their_own_answers() -> None:
    sizes: list[int] = []
    gate = threading.Event()

    def slow(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        gate.wait(5)  # the first batch holds the model while the others queue up
        return scores_by_length(texts)

    async def scenario() -> list[list[tuple[int, float]]]:
        batcher = MicroBatcher(slow, max_batch_size=64, max_wait_s=0, name="t", on_batch=sizes.append)
        batcher.start()
        futures = [batcher.submit(["a" * n]) for n in range(1, 11)]
        await asyncio.sleep(0.05)
        gate.set()
        answers = [await f for f in futures]
        await batcher.close()
        return answers

    answers = asyncio.run(scenario())
    assert answers == [[(n % 2, n / 100)] for n in range(1, 11)]
    assert sum(sizes) == 10
    assert len(sizes) < 10  # the nine that waited formed a batch


def test_a_model_that_breaks_the_batcher_fails_its_callers_and_closes_it() -> None:
    def wrong_types(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        return [1] * len(texts), [0.5] * len(texts)  # type: ignore[return-value]  # lists have no .tolist()

    async def scenario() -> None:
        batcher = MicroBatcher(wrong_types, max_batch_size=8, max_wait_s=0, name="t")
        batcher.start()
        with pytest.raises(AttributeError):
            await asyncio.wait_for(batcher.submit(["x"]), 5)
        await asyncio.wait_for(batcher.close(), 5)
        with pytest.raises(BatcherClosed):
            batcher.submit(["y"])

    asyncio.run(scenario())
