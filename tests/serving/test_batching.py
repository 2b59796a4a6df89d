"""The micro-batcher on its own: batches form, callers get their own slice, and nobody is left waiting."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from trunkml.registry.model_inputs import Answers
from trunkml.serving.batching import BatcherClosed, MicroBatcher


def scores_by_length(texts: list[str]) -> Answers:
    return Answers("binary", np.array([len(t) % 2 for t in texts]), np.array([len(t) / 100 for t in texts]))


def pairs(answers: Answers) -> list[tuple[int, float]]:
    return list(zip(answers.labels.tolist(), answers.scores.tolist(), strict=True))


def test_concurrent_callers_share_batches_and_get_their_own_answers() -> None:
    sizes: list[int] = []
    gate = threading.Event()

    def slow(texts: list[str]) -> Answers:
        gate.wait(5)  # the first batch holds the model while the others queue up
        return scores_by_length(texts)

    async def scenario() -> list[Answers]:
        batcher = MicroBatcher(slow, max_batch_size=64, max_wait_s=0, name="t", on_batch=sizes.append)
        batcher.start()
        futures = [batcher.submit(["a" * n]) for n in range(1, 11)]
        await asyncio.sleep(0.05)
        gate.set()
        answers = [await f for f in futures]
        await batcher.close()
        return answers

    answers = asyncio.run(scenario())
    assert [pairs(answer) for answer in answers] == [[(n % 2, n / 100)] for n in range(1, 11)]
    assert sum(sizes) == 10
    assert len(sizes) < 10  # the nine that waited formed a batch


def test_a_model_that_breaks_the_batcher_fails_its_callers_and_closes_it() -> None:
    class Unsliceable(Answers):
        def take(self, start: int, end: int) -> Answers:
            raise AttributeError("cannot be cut into callers' answers")

    def wrong_types(texts: list[str]) -> Answers:
        return Unsliceable("binary", np.ones(len(texts), dtype=np.int64), np.full(len(texts), 0.5))

    async def scenario() -> None:
        batcher = MicroBatcher(wrong_types, max_batch_size=8, max_wait_s=0, name="t")
        batcher.start()
        with pytest.raises(AttributeError):
            await asyncio.wait_for(batcher.submit(["x"]), 5)
        await asyncio.wait_for(batcher.close(), 5)
        with pytest.raises(BatcherClosed):
            batcher.submit(["y"])

    asyncio.run(scenario())


def test_answers_out_of_range_for_the_task_fail_only_their_callers() -> None:
    def three_classes(texts: list[str]) -> Answers:
        # the "bad" text gets class 7 of a 3-class model; the other probabilities sum to 1
        labels = np.array([7 if t == "bad" else 1 for t in texts])
        probabilities = np.tile([0.2, 0.5, 0.3], (len(texts), 1))
        return Answers("multiclass", labels, probabilities.max(axis=1), probabilities)

    async def scenario() -> tuple[Answers, BaseException | None]:
        batcher = MicroBatcher(three_classes, max_batch_size=8, max_wait_s=0.05, name="t", n_classes=3)
        batcher.start()
        good, bad = batcher.submit(["fine"]), batcher.submit(["bad"])
        answer = await asyncio.wait_for(good, 5)
        failure = await asyncio.wait_for(asyncio.gather(bad, return_exceptions=True), 5)
        await batcher.close()
        return answer, failure[0]

    answer, failure = asyncio.run(scenario())
    assert answer.labels.tolist() == [1]
    assert answer.probabilities is not None
    assert answer.probabilities.tolist() == [[0.2, 0.5, 0.3]]
    assert isinstance(failure, ValueError)
    assert "label 7" in str(failure)
