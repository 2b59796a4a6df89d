"""``trunkml monitor``: drift, online performance, shadow evidence and retraining triggers for an endpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, Optional

import typer
from rich.table import Table

from trunkml.cli.context import load_settings
from trunkml.cli.output import err, out, print_json
from trunkml.errors import EXIT_OK, EXIT_REFUSED

if TYPE_CHECKING:
    from trunkml.config import Settings
    from trunkml.monitoring.monitor import MonitorResult


def _summary(result: MonitorResult, report: Path) -> None:
    from trunkml.monitoring.online import online_text

    out.print(
        f"[bold]{result.model}[/]: {result.window}: {result.rows} texts in {result.requests} requests; "
        f"served by v{result.version} ({result.version_rows} texts); reference profile {result.profile}"
    )
    if result.drift:
        table = Table("statistic", "value", "threshold", "noise p99", "status", "detail", title="drift")
        for c in result.drift:
            style = "bold red" if c.fired else ""
            table.add_row(
                c.name,
                f"{c.value:.4g}",
                f"{c.threshold:.4g}",
                f"{c.noise or 0:.3g}",
                f"[{style}]{c.status}[/]" if style else c.status,
                c.detail,
            )
        out.print(table)
    for metrics in result.online:
        out.print(f"online v{metrics.version} {metrics.route}: {metrics.labelled} labelled, {online_text(metrics)}")
    if result.shadow is not None:
        shadow = result.shadow
        first = shadow.decision.reasons[0] if shadow.decision else "no decision yet"
        out.print(f"shadow v{shadow.shadow} vs v{shadow.champion}: {first} ({shadow.note})")
    for note in result.notes:
        out.print(f"[dim]note: {note}[/]")
    for trigger in result.triggers:
        mark = "[bold red]FIRED[/]" if trigger.fired else "[green]quiet[/]"
        out.print(f"trigger {trigger.name}: {mark}: {trigger.reason}")
    out.print(f"report: {report}")


def monitor_command(
    window: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="The last N requests (1000) or a duration (1h, 7d); default: monitoring.window."),
    ] = None,
    online_window: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="How far back online performance looks (7d); default: monitoring.online_window."),
    ] = None,
    endpoint: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="Endpoint spec whose prediction log to read (default: the project's)."),
    ] = None,
    report: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="Where to write the HTML report (default: TRUNKML_HOME/reports/monitor/<model>.html)."),
    ] = None,
    emit: Annotated[
        Optional[Literal["github"]],  # noqa: UP045
        typer.Option(
            help="When a trigger fires: print the workflow_dispatch payload, and send it if "
            "GITHUB_TOKEN and GITHUB_REPOSITORY are set."
        ),
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON document to stdout.")] = False,
) -> None:
    """Compare a window of served traffic with the champion's reference; exit 1 when a retraining trigger fires."""
    from trunkml.monitoring.dispatch import dispatch_payload
    from trunkml.monitoring.monitor import MonitorRequest, run_monitor
    from trunkml.monitoring.monitor_report import markdown, write_report

    settings = load_settings()
    with err.status("reading the prediction log and the reference profile"):
        request = MonitorRequest(window=window, online_window=online_window, endpoint=endpoint)
        result = run_monitor(settings, request)
        target = report or settings.home_dir / "reports" / "monitor" / f"{result.model}.html"
        written = write_report(result, target)
    if settings.step_summary is not None:
        with settings.step_summary.open("a", encoding="utf-8") as summary:
            summary.write(markdown(result, written))
    payload = dispatch_payload(result) if emit == "github" and result.fired else None
    if json_:
        print_json({**result.model_dump(mode="json"), "report": str(written), "dispatch": payload})
    else:
        _summary(result, written)
        if payload is not None:
            out.print("workflow_dispatch payload:")
            print(json.dumps(payload, indent=2, ensure_ascii=False))
    if payload is not None:
        _send(settings, result, payload)
    raise typer.Exit(EXIT_REFUSED if result.fired else EXIT_OK)


def _send(settings: Settings, result: MonitorResult, payload: dict[str, object]) -> None:
    """Send the dispatch when a token and a repository are configured; say what happened (on stderr)."""
    from trunkml.monitoring.dispatch import dispatch_once

    if settings.github_token is None or not settings.github_repository:
        err.print("workflow_dispatch not sent: set GITHUB_TOKEN and GITHUB_REPOSITORY to send it")
        return
    err.print(dispatch_once(settings, result, payload))  # a failed send raises: exit 3, after the results
