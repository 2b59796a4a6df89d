"""Options and helpers that several commands share: --model, --by, --env, --json, and who is acting."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from trunkml.cli.context import load_settings
from trunkml.config import Settings
from trunkml.errors import UsageError

ModelOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--model", "-m", help="Registered model (default: 'model' in trunkml.yaml)."),
]
ByOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--by", help="Who acts (default: TRUNKML_ACTOR, else GITHUB_ACTOR)."),
]
EnvOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--env", help="Environment (default: TRUNKML_ENV)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document to stdout.")]


def env_settings(env: str | None) -> Settings:
    """Settings of ``env`` (default TRUNKML_ENV), with that environment's registry from trunkml.yaml."""
    from trunkml.config import settings_for

    settings = load_settings()
    return settings if env is None else settings_for(settings, env)


def acting(by: str | None, fallback: str | None) -> str:
    """Who acts: ``--by``, else the settings' actor; a usage error when neither is known."""
    actor = by or fallback
    if not actor:
        raise UsageError("who is acting?", hint="pass --by NAME, or set TRUNKML_ACTOR (CI: GITHUB_ACTOR is used)")
    return actor
