"""Retraining requests for GitHub Actions: the ``repository_dispatch`` event that starts model-ct.

model-ct listens for ``repository_dispatch`` of type :data:`EVENT_TYPE`; the payload says
which model, which triggers fired and why, so the workflow run explains itself.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from trunkml.config import Settings, load_project
from trunkml.errors import ConfigError, UnavailableError
from trunkml.monitoring.monitor import MonitorResult
from trunkml.registry import Registry
from trunkml.registry.dispatches import last_dispatch, record_dispatch

EVENT_TYPE = "trunkml-retrain"


def dispatch_payload(result: MonitorResult) -> dict[str, Any]:
    """The body of ``POST /repos/{owner}/{repo}/dispatches`` for this monitor run."""
    return {
        "event_type": EVENT_TYPE,
        "client_payload": {
            "model": result.model,
            "champion": result.version,
            "window": result.window,
            "triggers": [t.name for t in result.fired],
            "reasons": [t.reason for t in result.fired],
        },
    }


def send_dispatch(settings: Settings, payload: dict[str, Any]) -> str:
    """Send ``payload`` to the repository's dispatches endpoint; return where it went.

    Needs ``GITHUB_TOKEN`` (or ``TRUNKML_GITHUB_TOKEN``) and ``GITHUB_REPOSITORY``.
    """
    if settings.github_token is None or not settings.github_repository:
        raise ConfigError(
            "sending a repository_dispatch needs GITHUB_TOKEN and GITHUB_REPOSITORY",
            hint="set both (the token needs contents: write), or leave them unset to print the payload only",
        )
    url = f"{settings.github_api_url.rstrip('/')}/repos/{settings.github_repository}/dispatches"
    headers = {
        "authorization": f"Bearer {settings.github_token.get_secret_value()}",
        "accept": "application/vnd.github+json",
        "x-github-api-version": "2022-11-28",
    }
    try:
        response = httpx.post(url, json=payload, headers=headers, timeout=settings.http_timeout_s)
    except httpx.HTTPError as exc:
        raise UnavailableError(f"repository_dispatch to {url} failed: {type(exc).__name__}: {exc}") from exc
    if response.status_code != 204:
        raise UnavailableError(
            f"repository_dispatch to {url} answered {response.status_code}: {response.text[:300]}",
            hint="check the token's permissions (contents: write) and the repository name",
        )
    return url


def dispatch_once(settings: Settings, result: MonitorResult, payload: dict[str, Any]) -> str:
    """Send ``payload`` unless the same triggers were already sent within ``monitoring.triggers.repeat_after``.

    Returns what happened, for people. A trigger that stays true (an old champion, drift that new
    data has not fixed yet) would otherwise start a model-ct run every hour.
    """
    rules = load_project(settings.project_root).monitoring.triggers
    registry = Registry(settings)
    triggers = sorted(t.name for t in result.fired)
    previous = last_dispatch(registry, result.model)
    now = time.time()
    if previous and previous.get("triggers") == triggers and now - float(previous.get("at", 0)) < rules.repeat_seconds:
        since = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(float(previous["at"])))
        return (
            f"repository_dispatch not sent: the same triggers were sent at {since} "
            f"(monitoring.triggers.repeat_after: {rules.repeat_after})"
        )
    where = send_dispatch(settings, payload)
    record_dispatch(registry, result.model, {"at": now, "triggers": triggers, "to": where})
    return f"repository_dispatch sent to {where}"
