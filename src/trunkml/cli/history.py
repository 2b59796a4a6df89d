"""``trunkml history``: every promotion, rollback and approval of a model, oldest first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

from trunkml.cli.context import load_settings
from trunkml.cli.options import JsonOpt, ModelOpt
from trunkml.cli.output import out, print_json

if TYPE_CHECKING:  # the registry loads MLflow: only when a command runs
    from trunkml.registry.events import Event


def events_table(events: list[Event], title: str) -> Table:
    table = Table("at (UTC)", "event", "alias", "from", "to", "env", "actor", "reason", title=title)
    for e in events:
        table.add_row(
            e.at[:19], e.kind, e.alias, str(e.from_version or "-"), str(e.to_version or "-"), e.env, e.actor, e.reason
        )
    return table


def history_command(model: ModelOpt = None, json_: JsonOpt = False) -> None:
    """Every promotion, rollback and approval, oldest first (stored in the registry backend)."""
    from trunkml.config import resolve_model
    from trunkml.registry import Registry
    from trunkml.registry.events import history

    settings = load_settings()
    name = resolve_model(settings, model)
    events = history(Registry(settings), name)
    print_json(events) if json_ else out.print(
        events_table(events, f"history of {name}") if events else f"no history for {name} yet"
    )
