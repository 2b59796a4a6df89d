"""One promotion of a model at a time, wherever it runs: a lease the registry's database decides.

A lock file serialises only the processes of one machine. This lease is decided by the tracking
store's own unique constraint on experiment names, the same on SQLite, on PostgreSQL behind an
MLflow server, and for any number of machines and ``TRUNKML_HOME`` folders:

* Generation ``g`` of the lease of model ``m`` is the experiment ``trunkml/lease/m/<g>``. To take
  the lease, a holder creates generation ``top + 1``; the database lets exactly one creator
  succeed. It then checks that no higher generation exists (a creator that read a stale ``top``
  backs off), so generations are also fencing tokens: every history event records the one it was
  written under, and a move re-checks it still holds the lease before it touches the alias.
* A generation is free when its holder tagged it ``released``, or when it is **stale**: its
  heartbeat counter (a tag the holder bumps every ``BEAT_S``) has not changed for ``TTL_S`` as
  measured by the *waiter's own monotonic clock*. No two machines' clocks are ever compared, so
  clock skew cannot break or extend a lease.

Failure modes: a holder that dies leaves its lease stale after ``TTL_S`` (the next promotion then
settles the dead holder's half-done move, see ``registry.events``). A holder cut off from the
registry for longer than ``TTL_S`` may lose its lease while it still runs; it notices on its next
heartbeat or before its next alias write (:meth:`Lease.ensure`) and stops, and the alias writes
are confirmed by reading back. Old generations are soft-deleted, which keeps their names taken.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException

from trunkml.errors import UnavailableError
from trunkml.registry.connection import Registry

PREFIX = "trunkml/lease/"
BEAT_S = 3.0
TTL_S = 20.0
WAIT_S = 300.0
HOLDER, BEAT, RELEASED = "trunkml.lease.holder", "trunkml.lease.beat", "trunkml.lease.released"


def _name(model: str, generation: int) -> str:
    return f"{PREFIX}{model}/{generation:010d}"


@dataclass
class Lease:
    """A held lease: its generation (the fencing token) and its heartbeat."""

    registry: Registry
    model: str
    generation: int
    experiment_id: str
    holder: str
    beats: int = 0
    lost: str = ""
    _stop: threading.Event = field(default_factory=threading.Event)
    _last_ok: float = field(default_factory=time.monotonic)

    def _beat(self) -> None:
        while not self._stop.wait(BEAT_S):
            try:
                self.beats += 1
                self.registry.client.set_experiment_tag(self.experiment_id, BEAT, str(self.beats))
                self._last_ok = time.monotonic()
            except Exception as exc:
                if time.monotonic() - self._last_ok > TTL_S / 2:
                    self.lost = f"heartbeats failed for {TTL_S / 2:.0f} s: {str(exc)[:200]}"

    def ensure(self) -> None:
        """Raise unless this lease is still held (call before every write that must be serialised)."""
        if not self.lost and time.monotonic() - self._last_ok > TTL_S / 2:
            self.lost = f"no heartbeat reached the registry for {TTL_S / 2:.0f} s"
        if not self.lost:
            top = max(_generations(self.registry, self.model), default=0)
            if top != self.generation:
                self.lost = f"generation {top} was taken after this holder's {self.generation}"
        if self.lost:
            raise UnavailableError(
                f"lost the promotion lease of {self.model}: {self.lost}",
                hint="another promotion may have started; check `trunkml status` and `trunkml audit`",
            )

    def release(self) -> None:
        self._stop.set()
        with contextlib.suppress(MlflowException):
            self.registry.client.set_experiment_tag(self.experiment_id, RELEASED, "1")


def _generations(registry: Registry, model: str) -> dict[int, tuple[str, dict[str, str]]]:
    """Every generation of ``model``'s lease (deleted ones too) → (experiment id, tags), in one search."""
    prefix = f"{PREFIX}{model}/"
    found: dict[int, tuple[str, dict[str, str]]] = {}
    token: str | None = None
    while True:
        page = registry.client.search_experiments(
            view_type=ViewType.ALL, filter_string=f"name LIKE '{prefix}%'", max_results=1000, page_token=token
        )
        for experiment in page:
            tail = experiment.name[len(prefix) :]
            if experiment.name.startswith(prefix) and tail.isdigit():
                found[int(tail)] = (experiment.experiment_id, dict(experiment.tags or {}))
        token = page.token
        if not token:
            return found


@dataclass
class _Watch:
    """A waiter's view of the current generation: its heartbeat, and when (locally) it last changed."""

    generation: int = -1
    beat: str = ""
    since: float = field(default_factory=time.monotonic)

    def free(self, generation: int, tags: dict[str, str]) -> bool:
        if tags.get(RELEASED):
            return True
        beat = tags.get(BEAT, "")
        if (generation, beat) != (self.generation, self.beat):
            self.generation, self.beat, self.since = generation, beat, time.monotonic()
        return time.monotonic() - self.since > TTL_S


def _try_take(registry: Registry, model: str, generation: int, holder: str) -> str | None:
    try:
        return str(registry.client.create_experiment(_name(model, generation), tags={HOLDER: holder, BEAT: "0"}))
    except MlflowException:  # RESOURCE_ALREADY_EXISTS: another holder took this generation first
        return None


def _tidy(registry: Registry, model: str, generations: dict[int, tuple[str, dict[str, str]]], current: int) -> None:
    for generation, (experiment_id, _) in generations.items():
        if generation < current - 1:
            with contextlib.suppress(MlflowException):
                registry.client.delete_experiment(experiment_id)


def acquire(registry: Registry, model: str, wait_s: float = WAIT_S) -> Lease:
    """Take ``model``'s promotion lease, waiting up to ``wait_s`` for its holder to finish or die."""
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    deadline, watch, pause = time.monotonic() + wait_s, _Watch(), 0.05
    while True:
        try:
            generations = _generations(registry, model)
            top = max(generations, default=0)
            tags = generations[top][1] if top else {}
            if not top or watch.free(top, tags):
                taken = _try_take(registry, model, top + 1, holder)
                if taken is not None:
                    if max(_generations(registry, model)) == top + 1:
                        lease = Lease(registry, model, top + 1, taken, holder)
                        threading.Thread(target=lease._beat, daemon=True, name=f"lease-{model}").start()
                        _tidy(registry, model, generations, top + 1)
                        return lease
                    with contextlib.suppress(MlflowException):
                        registry.client.set_experiment_tag(taken, RELEASED, "1")
        except MlflowException as exc:
            raise UnavailableError(f"cannot reach the registry to take the promotion lease of {model}: {exc}") from exc
        if time.monotonic() > deadline:
            raise UnavailableError(
                f"another promotion of {model} has held its lease for over {wait_s:.0f} s ({tags.get(HOLDER, '?')})",
                hint=f"wait for it, or, if its holder died, for {TTL_S:.0f} s without heartbeats",
            )
        # Waiters back off (with jitter) so that many of them do not load the registry while one holds it.
        time.sleep(pause * (0.5 + (uuid.uuid4().int % 100) / 100))
        pause = min(pause * 1.5, 0.5)


@contextmanager
def promotion_lease(registry: Registry, model: str, wait_s: float = WAIT_S) -> Iterator[Lease]:
    """Hold ``model``'s promotion lease for the ``with`` block."""
    lease = acquire(registry, model, wait_s)
    try:
        yield lease
    finally:
        lease.release()
