"""``trunkml serve``: the REST server that follows the champion alias."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trunkml.cli.context import load_settings
from trunkml.errors import UsageError


def serve_command(
    endpoint: Annotated[
        Path | None,
        typer.Option(help="Endpoint spec (default: TRUNKML_ENDPOINT, else endpoints/<model>/endpoint.yaml)."),
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (each follows the alias and batches on its own).")] = 1,
    access_log: Annotated[bool, typer.Option("--access-log/--no-access-log", help="Log every request.")] = False,
) -> None:
    """Serve the model version that @champion names; hot-swap when the alias moves."""
    from trunkml.serving import serve  # FastAPI, uvicorn and MLflow load only when serving

    if not 1 <= workers <= 64:
        raise UsageError(f"--workers must be between 1 and 64, got {workers}")
    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, got {port}")
    serve(load_settings(), endpoint, host, port, workers, access_log)
