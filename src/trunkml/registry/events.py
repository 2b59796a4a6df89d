"""Deployment history: every alias move and approval as an append-only event in the registry backend.

Events are MLflow runs in the experiment ``trunkml/history/<model>``, one run per event,
so the history lives wherever the registry lives and any machine that sees the registry
sees it. An alias move is written first as an intent (a running run), then the alias moves,
then the run is settled: finished, or failed if the move did not happen. A promotion cut off
half-way (registry or database gone) is settled by the next move of that model, and until then
:func:`history` counts it exactly when its alias points where it says, so the history always
agrees with the alias. Settled runs are never changed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from mlflow.entities import RunStatus
from mlflow.exceptions import MlflowException
from pydantic import BaseModel, ConfigDict

from trunkml.errors import UnavailableError
from trunkml.registry.connection import Registry

EXPERIMENT = "trunkml/history/"
RUNNING = RunStatus.to_string(RunStatus.RUNNING)
FINISHED = RunStatus.to_string(RunStatus.FINISHED)
FIELDS = ("kind", "actor", "from_version", "to_version", "reason", "decision", "env", "alias")


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
    at: str = ""
    id: str = ""


def begin(registry: Registry, model: str, event: Event) -> Event:
    """Write ``event`` as an intent (an unfinished run) and return it with its time and id.

    An intent enters the history when :func:`finish` marks it done, or, for an alias move whose
    finishing write was lost, when the alias is found to point where the intent says (see
    :func:`history`). A move that stopped half-way therefore never shows as done unless it took effect.
    """
    at = datetime.now(UTC).isoformat()
    tags = {
        f"trunkml.event.{key}": "" if value is None else str(value)
        for key, value in event.model_dump(include=set(FIELDS)).items()
    }
    tags["trunkml.event.at"] = at
    try:
        run = registry.client.create_run(
            registry.ensure_experiment(f"{EXPERIMENT}{model}"),
            tags=tags,
            run_name=f"{event.kind} v{event.from_version}→v{event.to_version}",
        )
    except MlflowException as exc:
        raise _unavailable("record", event, exc) from exc
    return event.model_copy(update={"at": at, "id": run.info.run_id})


def finish(registry: Registry, event: Event, happened: bool = True) -> None:
    """Settle an intent: done (it enters the history) or failed (it never does)."""
    try:
        registry.client.set_terminated(event.id, FINISHED if happened else RunStatus.to_string(RunStatus.FAILED))
    except MlflowException as exc:
        raise _unavailable("settle", event, exc) from exc


def _unavailable(doing: str, event: Event, exc: MlflowException) -> UnavailableError:
    first = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
    return UnavailableError(f"could not {doing} the {event.kind} event in the history: {first}")


def append(registry: Registry, model: str, event: Event) -> Event:
    """Write ``event`` (its time is set now) as done and return it with its id."""
    written = begin(registry, model, event)
    finish(registry, written)
    return written


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _entries(registry: Registry, model: str) -> list[tuple[Event, str]]:
    """Every event of ``model`` with its run status, oldest first."""
    found = registry.client.get_experiment_by_name(f"{EXPERIMENT}{model}")
    if found is None:
        return []
    runs = registry.client.search_runs([found.experiment_id], order_by=["attributes.start_time ASC"], max_results=50000)
    entries = [(_event(run.data.tags, run.info.run_id), run.info.status) for run in runs]
    return sorted(entries, key=lambda entry: entry[0].at)


def _took_effect(registry: Registry, model: str, event: Event) -> bool:
    if not event.alias or event.to_version is None:
        return False
    try:
        pointed = registry.client.get_model_version_by_alias(model, event.alias).version
    except MlflowException:
        return False
    return int(pointed) == event.to_version


def _open(registry: Registry, model: str, entries: list[tuple[Event, str]]) -> list[tuple[Event, bool]]:
    last_done = max((e.at for e, status in entries if status != RUNNING), default="")
    open_ = [e for e, status in entries if status == RUNNING]
    newest = open_[-1] if open_ and open_[-1].at > last_done else None
    return [(e, e is newest and _took_effect(registry, model, e)) for e in open_]


def pending(registry: Registry, model: str) -> list[tuple[Event, bool]]:
    """Unsettled intents of ``model``, each with whether it took effect.

    Only the newest intent after the last settled event can have taken effect (moves of a model are
    serialised), and only if its alias points at its target now.
    """
    return _open(registry, model, _entries(registry, model))


def history(registry: Registry, model: str) -> list[Event]:
    """All events of ``model`` that happened, oldest first: done ones, plus an unsettled move that took effect."""
    entries = _entries(registry, model)
    done = [e for e, status in entries if status == FINISHED]
    done += [e for e, happened in _open(registry, model, entries) if happened]
    return sorted(done, key=lambda event: event.at)


def _event(tags: dict[str, str], run_id: str) -> Event:
    def get(key: str) -> str:
        return tags.get(f"trunkml.event.{key}", "")

    return Event(
        kind=get("kind"),
        actor=get("actor"),
        from_version=_number(get("from_version")),
        to_version=_number(get("to_version")),
        alias=get("alias"),
        env=get("env"),
        reason=get("reason"),
        decision=get("decision"),
        at=get("at"),
        id=run_id,
    )
