"""``trunkml infra-validate``: serve a version alone in a sandbox and check it answers as it does offline."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from trunkml.cli.context import load_settings
from trunkml.cli.output import err, out, print_json
from trunkml.errors import EXIT_REFUSED

if TYPE_CHECKING:  # infra validation loads MLflow: only when this command runs
    from trunkml.release.infravalidate import InfraValidation


def _render_infra(result: InfraValidation) -> None:
    colour, verdict = ("green", "PASSED") if result.passed else ("red", "FAILED")
    out.print(f"[bold {colour}]infra validation {verdict}[/] {result.model} v{result.version}")
    for reason in result.reasons:
        out.print(f"  • {reason}", highlight=False)
    if not result.passed and result.server_log_tail:
        err.print("[dim]the sandboxed server's log ends with:[/]")
        err.print(result.server_log_tail[-1500:], highlight=False, markup=False)
    out.print(f"recorded on v{result.version} ({result.record}), {result.seconds:.1f} s")


def infra_validate_command(
    ref: Annotated[str, typer.Argument(help="Version to validate: @challenger, latest, N or sha:<prefix>.")] = (
        "@challenger"
    ),
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Model (default: trunkml.yaml).")] = None,  # noqa: UP045
    endpoint: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="Endpoint spec whose limits and budget apply (default: endpoints/<model>/endpoint.yaml)."),
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print the result as one JSON document.")] = False,
) -> None:
    """Serve a version alone in a sandboxed server, query it, compare with offline predictions; record the result.

    Exit 1 when it fails: promotion refuses a version without a passing infra validation.
    """
    from trunkml.release.infravalidate import infra_validate

    with err.status("starting", spinner="dots") as status:
        result = infra_validate(load_settings(), ref, model, endpoint, lambda phase: status.update(phase))
    print_json(result) if json_ else _render_infra(result)
    if not result.passed:
        raise typer.Exit(EXIT_REFUSED)
