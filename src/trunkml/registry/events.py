"""Deployment history: every alias move and approval as a hash-chained, append-only event in the registry.

Events are MLflow runs in the experiment ``trunkml/history/<model>``, one run per event, so the
history lives wherever the registry lives and any machine that sees the registry sees it.

**The chain.** Each event carries a sequence number, the hash of the event before it and its own
hash (sha256 of its canonical content), the same idea as a git commit chain. Events are ordered
by the chain, never by the writers' clocks, and :func:`verify_chain` finds an edited event (its
hash no longer matches), a missing one (a gap in the sequence or a broken link) and a fork. Every
event is written under the model's promotion lease (``registry.lease``), whose generation it
records, so there is one writer at a time and one head.

**Intents.** An alias move is written first as an intent (a running run), then the alias moves,
then the run is settled: finished, or failed if the move did not happen. A move cut off half-way
is settled by the next holder of the lease, and until then :func:`history` counts it exactly
when its alias points where it says, so the history always agrees with the alias. Only intents
written under an *earlier* lease generation are ever settled by someone else: a live holder's
intent is its own. The run status is not part of the hash; ``trunkml audit`` checks the aliases
against the chain instead.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime

from mlflow.entities import RunStatus
from mlflow.exceptions import MlflowException
from pydantic import BaseModel, ConfigDict

from trunkml.errors import UnavailableError
from trunkml.registry.connection import Registry
from trunkml.registry.lease import Lease, promotion_lease

EXPERIMENT = "trunkml/history/"
TAG = "trunkml.event."
RUNNING = RunStatus.to_string(RunStatus.RUNNING)
FINISHED = RunStatus.to_string(RunStatus.FINISHED)
FAILED = RunStatus.to_string(RunStatus.FAILED)
FIELDS = ("kind", "actor", "from_version", "to_version", "reason", "decision", "env", "alias", "statement", "lease")
CHAINED = (*FIELDS, "at", "seq", "prev")


class Event(BaseModel):
    """One thing that happened to a model's aliases or approvals."""

    model_config = ConfigDict(frozen=True)

    kind: str
    actor: str
    to_version: int | None = None
    from_version: int | None = None
    alias: str = ""
    env: str = ""
    reason: str = ""
    decision: str = ""
    statement: str = ""
    """For an approval: sha256 of the signed approval as stored on the version."""
    lease: int = 0
    """The promotion-lease generation it was written under."""
    at: str = ""
    seq: int = 0
    prev: str = ""
    hash: str = ""
    id: str = ""
    status: str = ""


def digest(event: Event) -> str:
    """sha256 of the event's chained content (everything but its run id, status and own hash)."""
    content = {
        key: ("" if value is None else str(value)) for key, value in event.model_dump(include=set(CHAINED)).items()
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _unavailable(doing: str, event: Event, exc: MlflowException) -> UnavailableError:
    first = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
    return UnavailableError(f"could not {doing} the {event.kind} event in the history: {first}")


def begin(registry: Registry, model: str, event: Event, lease: Lease) -> Event:
    """Write ``event`` as an intent (an unfinished run) at the head of the chain; returns it as written.

    An intent enters the history when :func:`finish` marks it done, or, for an alias move whose
    finishing write was lost, when the alias is found to point where the intent says (see
    :func:`history`). A move that stopped half-way therefore never shows as done unless it took effect.
    """
    lease.ensure()
    head = _head(registry, model)
    linked = event.model_copy(
        update={
            "at": datetime.now(UTC).isoformat(),
            "seq": head.seq + 1 if head else 1,
            "prev": head.hash if head else "",
            "lease": lease.generation,
        }
    )
    linked = linked.model_copy(update={"hash": digest(linked)})
    tags = {
        f"{TAG}{key}": "" if value is None else str(value)
        for key, value in linked.model_dump(include=set(CHAINED)).items()
    }
    tags[f"{TAG}seq"] = f"{linked.seq:012d}"  # zero-padded: the registry orders tags as text
    tags[f"{TAG}hash"] = linked.hash
    try:
        run = registry.client.create_run(
            registry.ensure_experiment(f"{EXPERIMENT}{model}"),
            tags=tags,
            run_name=f"#{linked.seq} {event.kind} v{event.from_version}→v{event.to_version}",
        )
    except MlflowException as exc:
        raise _unavailable("record", event, exc) from exc
    return linked.model_copy(update={"id": run.info.run_id, "status": RUNNING})


def finish(registry: Registry, event: Event, happened: bool = True) -> None:
    """Settle an intent: done (it enters the history) or failed (it never does)."""
    try:
        registry.client.set_terminated(event.id, FINISHED if happened else FAILED)
    except MlflowException as exc:
        raise _unavailable("settle", event, exc) from exc


def append(registry: Registry, model: str, event: Event, lease: Lease | None = None) -> Event:
    """Write ``event`` as done and return it as written (taking the model's lease unless given one)."""
    if lease is None:
        with promotion_lease(registry, model) as held:
            return append(registry, model, event, held)
    written = begin(registry, model, event, lease)
    finish(registry, written)
    return written.model_copy(update={"status": FINISHED})


NUMBER = re.compile(r"^-?[0-9]{1,18}$")


def _number(text: str) -> int | None:
    return int(text) if NUMBER.match(text) else None


def _event(tags: dict[str, str], run_id: str, status: str) -> Event:
    def get(key: str) -> str:
        return tags.get(f"{TAG}{key}", "")

    return Event(
        kind=get("kind"),
        actor=get("actor"),
        from_version=_number(get("from_version")),
        to_version=_number(get("to_version")),
        alias=get("alias"),
        env=get("env"),
        reason=get("reason"),
        decision=get("decision"),
        statement=get("statement"),
        lease=_number(get("lease")) or 0,
        at=get("at"),
        seq=_number(get("seq")) or 0,
        prev=get("prev"),
        hash=get("hash"),
        id=run_id,
        status=status,
    )


def _runs(registry: Registry, model: str, where: str = "", newest_only: bool = False) -> list[Event]:
    """Events of ``model`` matching the search filter ``where`` (all of them by default), in chain order."""
    found = registry.client.get_experiment_by_name(f"{EXPERIMENT}{model}")
    if found is None:
        return []
    if newest_only:
        runs = registry.client.search_runs(
            [found.experiment_id], where, order_by=[f"tags.`{TAG}seq` DESC"], max_results=1
        )
    else:
        runs = registry.client.search_runs([found.experiment_id], where, max_results=50000)
    entries = [_event(run.data.tags, run.info.run_id, run.info.status) for run in runs]
    return sorted(entries, key=lambda event: (event.seq, event.at))


def _head(registry: Registry, model: str) -> Event | None:
    """The newest event of the chain (one row read, however long the history)."""
    found = _runs(registry, model, newest_only=True)
    return found[0] if found else None


def _took_effect(registry: Registry, model: str, event: Event) -> bool:
    if not event.alias or event.to_version is None:
        return False
    try:
        pointed = registry.client.get_model_version_by_alias(model, event.alias).version
    except MlflowException:
        return False
    return int(pointed) == event.to_version


def _open(registry: Registry, model: str, entries: list[Event]) -> list[tuple[Event, bool]]:
    moves = [e for e in entries if e.alias]  # an approval written later says nothing about a move's outcome
    last_done = max((e.seq for e in moves if e.status != RUNNING), default=0)
    open_ = [e for e in moves if e.status == RUNNING]
    newest = open_[-1] if open_ and open_[-1].seq > last_done else None
    return [(e, e is newest and _took_effect(registry, model, e)) for e in open_]


def pending(registry: Registry, model: str, lease: Lease | None = None) -> list[tuple[Event, bool]]:
    """Unsettled intents of ``model``, each with whether it took effect.

    Only the newest intent after the last settled event can have taken effect (moves of a model are
    serialised), and only if its alias points at its target now. Given the caller's ``lease``, only
    intents written under earlier generations are listed: those of holders that are gone.
    """
    running = _runs(registry, model, f"attributes.status = '{RUNNING}'")
    if not running:
        return []
    settled = _runs(registry, model, f"attributes.status != '{RUNNING}' and tags.`{TAG}alias` != ''", newest_only=True)
    found = _open(registry, model, settled + running)
    return [(e, took) for e, took in found if lease is None or e.lease < lease.generation]


def history(registry: Registry, model: str) -> list[Event]:
    """All events of ``model`` that happened, in chain order: done ones, plus an unsettled move that took effect."""
    entries = chain(registry, model)
    happened = {e.id for e, took in _open(registry, model, entries) if took}
    return [e for e in entries if e.status == FINISHED or e.id in happened]


def chain(registry: Registry, model: str) -> list[Event]:
    """Every event ever written for ``model``, failed intents included, in chain order (sequence number,
    then time for events written before the chain existed)."""
    return _runs(registry, model)


def legacy_events(events: list[Event]) -> int:
    """Events from before the chain existed (no sequence number, no hash): they come first and are not checked."""
    return sum(1 for event in events if not event.hash and not event.seq)


def verify_chain(events: list[Event]) -> list[str]:
    """Every break in the chain: edited events, missing ones, forks, unchained ones (empty: intact).

    Events written before the chain existed carry neither a sequence number nor a hash; they sort
    first, are reported by :func:`legacy_events`, and break nothing: an upgrade keeps its champion."""
    problems: list[str] = []
    previous: Event | None = None
    for event in events:
        where = f"event #{event.seq} ({event.kind} v{event.from_version}→v{event.to_version}, {event.at[:19]})"
        if not event.hash and not event.seq:
            continue  # history written before the chain existed: its prefix (see :func:`legacy_events`)
        if not event.hash:
            problems.append(f"{where} is not chained (no hash): written outside trunkml")
            continue
        if digest(event) != event.hash:
            problems.append(f"{where} was edited: its content no longer matches its hash")
        expected = previous.seq + 1 if previous else 1
        if previous is not None and event.seq == previous.seq:
            problems.append(f"{where} forks the chain: two events with sequence number {event.seq}")
        elif event.seq != expected:
            problems.append(f"events #{expected}–#{event.seq - 1} are missing before {where}")
        elif event.prev != (previous.hash if previous else ""):
            problems.append(f"{where} does not link to the event before it: an event was replaced or removed")
        previous = event
    return problems
