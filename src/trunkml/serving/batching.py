"""Micro-batching: concurrent requests to one model are answered by one model call.

Requests put their texts on a queue without awaiting anything, so a request that
read the model holder always reaches that model's batcher, even while a swap is
under way. One thread per model takes what is queued (up to ``max_batch_size``
texts, waiting at most ``max_wait_ms`` for more), calls the model, hands the
answers back to the event loop in one callback, and takes the next batch at
once. While the model is busy, new requests pile up and form the next batch:
under load, batches grow by themselves.

The thread, not the event loop, moves from one batch to the next. Under load
the loop is busy sending one batch's answers and reading the next requests when
the model finishes; a batcher that waited for the loop to start each batch kept
the model idle for that time (a quarter of it, measured at 16 connections).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from trunkml.registry.model_inputs import Answers

log = logging.getLogger("trunkml.serving")

Predict = Callable[[list[Any]], Answers]
Scored = Answers


@dataclass
class _Item:
    texts: list[str]
    future: asyncio.Future[Scored] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class BatcherClosed(RuntimeError):
    """The model behind this batcher was swapped out and has stopped taking requests."""


class MicroBatcher:
    """Gathers concurrent requests to one model into batches and runs them on its own thread."""

    def __init__(
        self,
        predict: Predict,
        *,
        max_batch_size: int,
        max_wait_s: float,
        name: str,
        n_classes: int | None = None,
        on_batch: Callable[[int], None] = lambda size: None,
    ) -> None:
        self._predict = predict
        self._n_classes = n_classes
        self._max_batch = max_batch_size
        self._max_wait = max_wait_s
        self._on_batch = on_batch
        self._name = name
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Future[None] | None = None
        self._closing = False

    @property
    def pending(self) -> int:
        """Requests queued and not yet taken into a batch."""
        return self._queue.qsize()

    def start(self) -> None:
        """Start the batching thread; answers are delivered on the running event loop."""
        self._loop = asyncio.get_running_loop()
        self._stopped = self._loop.create_future()
        threading.Thread(target=self._run, name=f"trunkml-{self._name}", daemon=True).start()

    def submit(self, texts: list[str]) -> asyncio.Future[Scored]:
        """Queue ``texts``; the future resolves to the model's answers for them, in order. Never awaits."""
        if self._closing:
            raise BatcherClosed("this model version is no longer serving")
        item = _Item(texts)
        self._queue.put(item)
        return item.future

    async def close(self) -> None:
        """Answer everything already queued, then stop."""
        self._closing = True
        self._queue.put(None)
        if self._stopped is not None:
            await self._stopped

    # the batching thread ---------------------------------------------------------------------------------------
    def _gather(self, first: _Item) -> tuple[list[_Item], bool]:
        """``first`` plus the requests that arrive within the wait budget; True as second value means stop after."""
        batch, size = [first], len(first.texts)
        deadline = time.monotonic() + self._max_wait
        while size < self._max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    item = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
            if item is None:
                return batch, True
            batch.append(item)
            size += len(item.texts)
        return batch, False

    def _run(self) -> None:
        stop = False
        try:
            while not stop:
                first = self._queue.get()
                if first is None:
                    break
                batch, stop = self._gather(first)
                try:
                    self._answer(batch)
                except Exception as exc:  # never leave a caller waiting on a batch this thread dropped
                    log.exception("the %s batcher stopped: answering a batch failed", self._name)
                    self._post(_fail, batch, exc)
                    break
        finally:
            self._closing = True  # nothing may queue behind a thread that is gone
            leftover: list[_Item] = []
            while not self._queue.empty():
                item = self._queue.get_nowait()
                if item is not None:
                    leftover.append(item)
            if leftover:
                self._post(_fail, leftover, BatcherClosed("this model version is no longer serving"))
            self._post(_finish, self._stopped)

    def _post(self, callback: Callable[..., None], *args: object) -> None:
        """Run ``callback(*args)`` on the event loop (nothing is waiting any more once the loop has closed)."""
        assert self._loop is not None
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(callback, *args)

    def _answer(self, batch: list[_Item]) -> None:
        texts = [text for item in batch for text in item.texts]
        self._on_batch(len(texts))
        try:
            answered = self._predict(texts)
            if len(answered) != len(texts) or len(answered.labels) != len(texts):
                raise ValueError(f"the model answered {len(answered)} rows for {len(texts)} inputs")
        except Exception as exc:  # the model failed: every caller in the batch gets the error
            self._post(_fail, batch, exc)
            return
        answers: list[Scored | Exception] = []
        start = 0
        for item in batch:
            end = start + len(item.texts)
            part = answered.take(start, end)
            problem = part.problem(self._n_classes)  # a label out of range, a NaN, probabilities that do not sum to 1
            answers.append(ValueError(problem) if problem else part)
            start = end
        self._post(_deliver, batch, answers)


# on the event loop -----------------------------------------------------------------------------------------------
def _deliver(batch: list[_Item], answers: list[Scored | Exception]) -> None:
    for item, answer in zip(batch, answers, strict=True):
        if item.future.done():  # a caller that timed out has cancelled its future
            continue
        if isinstance(answer, Exception):
            item.future.set_exception(answer)
        else:
            item.future.set_result(answer)


def _fail(batch: list[_Item], exc: Exception) -> None:
    for item in batch:
        if not item.future.done():
            item.future.set_exception(exc)


def _finish(stopped: asyncio.Future[None]) -> None:
    if not stopped.done():
        stopped.set_result(None)
