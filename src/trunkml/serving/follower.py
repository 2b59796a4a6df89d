"""Following aliases: the server serves the version ``@champion`` (and, for canary/shadow, ``@challenger``) names.

A refresh reads each alias; when it names another version, that version is
loaded beside the one serving, verified and smoke-queried, and only then does the
slot point at it (one assignment, so every request sees either the old or the
new model). The old model finishes what it was given, then goes. Refreshes run
one at a time, so the served version follows the order in which the alias moved.
A refused candidate is remembered and not retried until the alias moves again or
an admin asks (``POST /admin/reload``).

Where the environment requires approvals, a champion that an alias names is loaded only if its
promotion chain verifies (``approvals.chain``): a PROMOTE decision, the signed approvals, and the history event
that names it. An ``@champion`` moved outside trunkml is refused and the old model keeps serving.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from trunkml.approvals.chain import Trust, challenger_problems, champion_problems
from trunkml.errors import CandidateRefused, NotFoundError, TrunkmlError
from trunkml.registry import Registry, resolve_version, show
from trunkml.registry.events import chain
from trunkml.serving.batching import MicroBatcher
from trunkml.serving.served_model import ServedModel, load_candidate
from trunkml.serving.spec import EndpointSpec
from trunkml.serving.telemetry import ServerMetrics

log = logging.getLogger("trunkml.serving")
RETRY_REFUSED_S = 60.0
CHAMPION, CHALLENGER = "champion", "challenger"


@dataclass
class Slot:
    """One role the server fills (champion, challenger) and the model filling it now."""

    role: str
    ref: str
    current: ServedModel | None = None
    refused: dict[int, float] = field(default_factory=dict)  # version -> when it was refused


@dataclass(frozen=True)
class Refusal:
    """A candidate that was not swapped in, and why."""

    role: str
    version: int
    reason: str
    message: str
    at: float


class Follower:
    """Keeps the slots filled with the versions the aliases name."""

    def __init__(self, spec: EndpointSpec, registry: Callable[[], Registry], metrics: ServerMetrics) -> None:
        self.spec = spec
        self._open_registry = registry
        self._registry: Registry | None = None
        self.metrics = metrics
        traffic = spec.traffic
        self.slots = {CHAMPION: Slot(CHAMPION, traffic.champion)}
        if traffic.canary.percent > 0 or traffic.shadow.enabled:
            self.slots[CHALLENGER] = Slot(
                CHALLENGER, traffic.canary.ref if traffic.canary.percent > 0 else traffic.shadow.ref
            )
        self.refusals: list[Refusal] = []
        self.last_error: str | None = None
        self._lock = asyncio.Lock()
        self._retiring: set[asyncio.Task[None]] = set()
        self._closed = False
        self._frozen = False

    @property
    def champion(self) -> ServedModel | None:
        """The model answering champion traffic (None until one has loaded)."""
        return self.slots[CHAMPION].current

    @property
    def challenger(self) -> ServedModel | None:
        """The model answering canary and shadow traffic, if any."""
        slot = self.slots.get(CHALLENGER)
        return slot.current if slot else None

    def _registry_now(self) -> Registry:
        if self._registry is None:
            self._registry = self._open_registry()
        return self._registry

    def _resolve(self, ref: str) -> int | None:
        try:
            return int(resolve_version(self._registry_now(), self.spec.model, ref).version)
        except NotFoundError:
            return None

    async def refresh(self, *, retry_refused: bool = False) -> list[Refusal]:
        """Bring every slot up to date with its alias; returns the candidates refused this time.

        A registry that cannot be read leaves every slot as it is; ``last_error`` says why.
        """
        async with self._lock:
            if self._closed:
                return []
            refused: list[Refusal] = []
            errors: list[str] = []
            for slot in self.slots.values():
                try:
                    outcome = await self._refresh_slot(slot, retry_refused)
                except Exception as exc:  # registry unreachable or erroring: keep serving what we have
                    errors.append(str(exc) if isinstance(exc, TrunkmlError) else f"{type(exc).__name__}: {exc}")
                    log.warning("cannot check %s: %s", slot.ref, errors[-1])
                    continue
                if outcome is not None:
                    refused.append(outcome)
            self.last_error = errors[0] if errors else None
            return refused

    async def _refresh_slot(self, slot: Slot, retry_refused: bool) -> Refusal | None:
        version = await asyncio.to_thread(self._resolve, slot.ref)
        champion = self.champion
        if slot.role == CHALLENGER and champion is not None and version == champion.info.version:
            version = None  # the challenger was promoted: nothing else to compare with
        if version is None:
            if slot.role == CHALLENGER and slot.current is not None:
                self._swap(slot, None)
            return None
        if slot.current is not None and slot.current.info.version == version and slot.current.model.alive:
            return None
        if not retry_refused and time.time() - slot.refused.get(version, -RETRY_REFUSED_S) < RETRY_REFUSED_S:
            return None  # refused a moment ago: try again later (the failure may have been transient)
        try:
            served = await asyncio.to_thread(self._load, slot, version)
        except CandidateRefused as exc:
            return self._refuse(slot, version, exc)
        if self._closed:  # shut down while loading: this model never serves
            await served.retire()
            return None
        self._swap(slot, served)
        return None

    def _verify(self, role: str, version: int) -> None:
        """Where approvals are required: a champion's promotion chain must verify, a canary must have passed
        the gate. Refused otherwise, and the slot keeps what it serves."""
        registry = self._registry_now()
        trust = Trust.of(registry.settings)
        env = registry.settings.env.value
        if not trust.protected(env):
            return
        record = show(registry, self.spec.model, str(version))
        if role == CHAMPION:
            problems = champion_problems(registry, record, env, trust, chain(registry, self.spec.model))
        else:
            problems = challenger_problems(registry, record)
        if problems:
            raise CandidateRefused(
                f"{self.spec.model} v{version} is not a verified {role} in '{env}': " + "; ".join(problems),
                reason="unverified",
            )

    def _load(self, slot: Slot, version: int) -> ServedModel:
        if slot.ref.startswith("@"):  # a version pinned by number in endpoint.yaml is reviewed code
            self._verify(slot.role, version)
        deadline = max(30.0, 3 * self.spec.limits.request_timeout_s)
        model, info = load_candidate(self._registry_now(), self.spec.model, version, slot.role, slot.ref, deadline)
        batching = self.spec.batching
        batcher = MicroBatcher(
            model.answer,
            n_classes=info.n_classes,
            max_batch_size=batching.max_batch_size,
            max_wait_s=batching.max_wait_ms / 1000,
            name=f"{slot.role}-v{version}",
            on_batch=self.metrics.batch_size.labels(slot.role).observe,
        )
        return ServedModel(model, info, batcher)

    def _refuse(self, slot: Slot, version: int, exc: CandidateRefused) -> Refusal:
        slot.refused[version] = time.time()
        self.metrics.swap_failures.labels(slot.role, exc.reason).inc()
        refusal = Refusal(slot.role, version, exc.reason, exc.message, time.time())
        self.refusals = [*self.refusals[-19:], refusal]
        log.error("refused %s v%s (%s): %s", slot.role, version, exc.reason, exc.message)
        return refusal

    def _swap(self, slot: Slot, served: ServedModel | None) -> None:
        if served is not None:
            served.batcher.start()
        old = slot.current
        slot.current = served  # the swap: one assignment on the event loop
        previous = (old.version_text, old.info.model_digest[:12]) if old else None
        if served is None:
            self.metrics.show_model(slot.role, None, None, previous)
        else:
            self.metrics.show_model(slot.role, served.version_text, served.info.model_digest, previous)
        if served is not None:
            if not self._frozen:
                # The server's many long-lived objects (MLflow, pandas, ...) would make every full garbage
                # collection scan them again, a pause of tens of milliseconds; freezing takes them out of view.
                gc.freeze()
                self._frozen = True
            self.metrics.swaps.labels(slot.role).inc()
            slot.refused.pop(served.info.version, None)
            log.info("%s now serves v%s", slot.role, served.info.version)
        if old is not None:
            task = asyncio.get_running_loop().create_task(old.retire())
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)

    async def poll_forever(self) -> None:
        """Refresh every ``follow.poll_interval_s`` until cancelled."""
        while True:
            await self.refresh()
            await asyncio.sleep(self.spec.follow.poll_interval_s)

    async def close(self) -> None:
        """Retire every model once it has answered what it was given."""
        async with self._lock:
            self._closed = True
            for slot in self.slots.values():
                if slot.current is not None:
                    current, slot.current = slot.current, None
                    await current.retire()
            if self._retiring:
                await asyncio.gather(*self._retiring, return_exceptions=True)
