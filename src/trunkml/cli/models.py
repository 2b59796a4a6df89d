"""``trunkml models list|show``: registered versions and their lineage."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.table import Table

from trunkml.cli.context import load_settings
from trunkml.cli.output import out, print_json

if TYPE_CHECKING:  # the registry (MLflow) loads only when a models command runs
    from trunkml.registry import ModelVersionRecord

app = typer.Typer(help="Registered model versions and their lineage.", no_args_is_help=True)
ModelOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--model", "-m", help="Registered model name (default: 'model' in trunkml.yaml)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document to stdout.")]


def _model(name: str | None) -> str:
    """The model named on the command line, else the project's default (name-checked)."""
    from trunkml.config import resolve_model

    return resolve_model(load_settings(), name)


def _when(record: ModelVersionRecord) -> str:
    return datetime.fromtimestamp(record.created_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


@app.command("list")
def list_(model: ModelOpt = None, json_: JsonOpt = False) -> None:
    """List versions, newest first, with aliases, commit and headline metrics."""
    from trunkml.registry import Registry, list_records

    name = _model(model)
    records = list_records(Registry(load_settings()), name)
    if json_:
        print_json(records)
        return
    table = Table("version", "aliases", "created (UTC)", "commit", "kind", "recall", "precision", "f1", "data")
    for r in records:
        commit = (r.git_sha or "-")[:8] + ("+dirty" if r.git_dirty else "")
        data = ", ".join(f"{u.ref}" for u in r.datasets if u.role == "train")
        table.add_row(
            str(r.version),
            " ".join(f"@{a}" for a in r.aliases),
            _when(r),
            commit,
            r.kind or "-",
            *(f"{r.metrics[k]:.3f}" if k in r.metrics else "-" for k in ("recall", "precision", "f1")),
            data,
        )
    out.print(table if records else f"no versions of '{name}' yet: run `trunkml ct`")


@app.command("show")
def show_(
    ref: Annotated[str, typer.Argument(help="@champion, @challenger, latest, N or sha:<git sha>.")] = "latest",
    model: ModelOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Show one version's full lineage: commit, data digests, params, metrics, artifact digests."""
    from trunkml.registry import Registry, show
    from trunkml.registry.blessing import blessing_of

    record = show(Registry(load_settings()), _model(model), ref)
    if json_:
        print_json(record)
        return
    head = Table(show_header=False, box=None, title=f"{record.name} version {record.version}")
    for key, value in (
        ("aliases", " ".join(f"@{a}" for a in record.aliases) or "-"),
        ("created (UTC)", _when(record)),
        ("commit", f"{record.git_sha} {'(dirty)' if record.git_dirty else ''}"),
        ("branch", record.git_branch),
        ("kind", record.kind),
        ("job", f"{record.job} {record.job_hash}"),
        ("environment hash", record.env_hash),
        ("run", f"{record.run_id} ({record.run_status})"),
        ("model digest", record.model_digest),
        ("CT key", record.ct_key or "- (experiment or uncommitted code)"),
        ("split", record.split),
    ):
        head.add_row(f"[bold]{key}[/]", str(value if value is not None else "-"))
    out.print(head)
    if record.gate:
        gate_rows = [[key.removeprefix("trunkml.gate."), value] for key, value in sorted(record.gate.items())]
        _section("gate decision", ["field", "value"], gate_rows)
    infra = blessing_of(record)
    if infra is not None:
        verdict = "passed" if infra.passed else "FAILED: " + "; ".join(infra.reasons)
        _section(
            "infra validation",
            ["field", "value"],
            [
                ["result", verdict],
                ["at (UTC)", infra.validated_at[:19]],
                ["p99 ms", f"{infra.p99_ms or 0:.1f}"],
                ["peak memory MiB", f"{infra.peak_memory_mib or 0:.0f}"],
                ["record", infra.record],
            ],
        )
    _section(
        "datasets", ["role", "ref", "sha256", "rows"], [[u.role, u.ref, u.sha256, str(u.rows)] for u in record.datasets]
    )
    _section("metrics", ["metric", "value"], [[k, f"{v:.4f}"] for k, v in sorted(record.metrics.items())])
    _section("params", ["param", "value"], [[k, v] for k, v in sorted(record.params.items())])
    _section("artifact digests", ["file", "sha256"], [[k, v] for k, v in record.artifact_digests.items()])


def _section(title: str, columns: list[str], rows: list[list[str]]) -> None:
    table = Table(*columns, title=title, title_justify="left")
    for row in rows:
        table.add_row(*row)
    out.print(table)


@app.command("card")
def card_(
    ref: Annotated[str, typer.Argument(help="@champion, @challenger, latest, N or sha:<git sha>.")] = "@challenger",
    model: ModelOpt = None,
    html: Annotated[bool, typer.Option("--html", help="Print the HTML card instead of Markdown.")] = False,
    store: Annotated[bool, typer.Option(help="Store both cards with the version's run (trunkml/card/).")] = True,
    json_: JsonOpt = False,
) -> None:
    """A version's model card: lineage, data, metrics with intervals, gate decision and slices, infra
    validation, approvals with their verification status, and history (Markdown; --html for HTML)."""
    from trunkml.registry import Registry, show
    from trunkml.release.card import model_card, store_card

    settings = load_settings()
    registry = Registry(settings)
    record = show(registry, _model(model), ref)
    card = model_card(settings, registry, record)
    stored = store_card(registry, record, card) if store else {}
    if json_:
        print_json({"model": record.name, "version": record.version, "markdown": card.markdown(), "stored": stored})
        return
    if settings.step_summary is not None:
        with settings.step_summary.open("a", encoding="utf-8") as summary:
            summary.write(card.markdown() + "\n")
    typer.echo(card.html() if html else card.markdown())
