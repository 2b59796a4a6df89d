"""Micro-batching: concurrent requests to one model are answered by one model call.

Requests put their texts on a queue without awaiting anything, so a request that
read the model holder always reaches that model's batcher, even while a swap is
under way. One task per model takes what is queued (up to ``max_batch_size``
texts, waiting at most ``max_wait_ms`` for more), runs the model on its own
thread so the event loop keeps accepting requests, and gives each caller its own
slice of the answer. While the model is busy, new requests pile up and form the
next batch: under load, batches grow by themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

Predict = Callable[[list[str]], tuple[np.ndarray, np.ndarray]]
Scored = list[tuple[int, float]]


@dataclass
class _Item:
    texts: list[str]
    future: asyncio.Future[Scored] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class BatcherClosed(RuntimeError):
    """The model behind this batcher was swapped out and has stopped taking requests."""


class MicroBatcher:
    """Gathers concurrent requests to one model into batches and runs them off the event loop."""

    def __init__(
        self,
        predict: Predict,
        *,
        max_batch_size: int,
        max_wait_s: float,
        name: str,
        on_batch: Callable[[int], None] = lambda size: None,
    ) -> None:
        self._predict = predict
        self._max_batch = max_batch_size
        self._max_wait = max_wait_s
        self._on_batch = on_batch
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"trunkml-{name}")
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def pending(self) -> int:
        """Requests queued and not yet taken into a batch."""
        return self._queue.qsize()

    def start(self) -> None:
        """Start the batching task on the running event loop."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="trunkml-batcher")

    def submit(self, texts: list[str]) -> asyncio.Future[Scored]:
        """Queue ``texts``; the future resolves to one (label, score) per text. Never awaits."""
        if self._closing:
            raise BatcherClosed("this model version is no longer serving")
        item = _Item(texts)
        self._queue.put_nowait(item)
        return item.future

    async def close(self) -> None:
        """Answer everything already queued, then stop (the thread goes when its last batch ends)."""
        self._closing = True
        self._queue.put_nowait(None)
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._executor.shutdown(wait=False)

    async def _gather(self, first: _Item) -> tuple[list[_Item], bool]:
        """``first`` plus whatever arrives within the wait budget; True as second value means stop after."""
        batch, size = [first], len(first.texts)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._max_wait
        while size < self._max_batch:
            try:
                item = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self._queue.get(), remaining)
                except TimeoutError:
                    break
            if item is None:
                return batch, True
            batch.append(item)
            size += len(item.texts)
        return batch, False

    async def _run(self) -> None:
        stop = False
        while not stop:
            first = await self._queue.get()
            if first is None:
                return
            batch, stop = await self._gather(first)
            await self._answer(batch)

    async def _answer(self, batch: list[_Item]) -> None:
        texts = [text for item in batch for text in item.texts]
        self._on_batch(len(texts))
        try:
            labels, scores = await asyncio.get_running_loop().run_in_executor(self._executor, self._predict, texts)
            if len(labels) != len(texts) or len(scores) != len(texts):
                raise ValueError(f"the model answered {len(labels)} labels for {len(texts)} texts")
        except Exception as exc:  # the model failed: every caller in the batch gets the error
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(exc)
            return
        start = 0
        for item in batch:
            end = start + len(item.texts)
            if not item.future.done():  # a caller that timed out has cancelled its future
                scored = list(zip(labels[start:end].tolist(), scores[start:end].tolist(), strict=True))
                if all(label in (0, 1) and 0.0 <= score <= 1.0 for label, score in scored):  # NaN fails too
                    item.future.set_result(scored)
                else:
                    item.future.set_exception(ValueError(f"the model answered out of range: {scored[:3]}"))
            start = end
