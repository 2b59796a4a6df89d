"""Deployment history: every alias move and approval as an append-only event in the registry backend.

Events are MLflow runs in the experiment ``trunkml/history/<model>``, one run per event,
so the history lives wherever the registry lives and any machine that sees the registry
sees it. Runs are never updated after they are written.
"""

from __future__ import annotations

from datetime import UTC, datetime

from mlflow.entities import RunStatus
from pydantic import BaseModel, ConfigDict

from trunkml.registry.connection import Registry

EXPERIMENT = "trunkml/history/"
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


def append(registry: Registry, model: str, event: Event) -> Event:
    """Write ``event`` (its time is set now) and return it with its id."""
    at = datetime.now(UTC).isoformat()
    tags = {
        f"trunkml.event.{key}": "" if value is None else str(value)
        for key, value in event.model_dump(include=set(FIELDS)).items()
    }
    tags["trunkml.event.at"] = at
    run = registry.client.create_run(
        registry.ensure_experiment(f"{EXPERIMENT}{model}"),
        tags=tags,
        run_name=f"{event.kind} v{event.from_version}→v{event.to_version}",
    )
    registry.client.set_terminated(run.info.run_id, RunStatus.to_string(RunStatus.FINISHED))
    return event.model_copy(update={"at": at, "id": run.info.run_id})


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def history(registry: Registry, model: str) -> list[Event]:
    """All events of ``model``, oldest first."""
    found = registry.client.get_experiment_by_name(f"{EXPERIMENT}{model}")
    if found is None:
        return []
    runs = registry.client.search_runs([found.experiment_id], order_by=["attributes.start_time ASC"], max_results=50000)
    return sorted((_event(run.data.tags, run.info.run_id) for run in runs), key=lambda event: event.at)


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
