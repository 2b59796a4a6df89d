"""Retraining requests for GitHub Actions: a ``workflow_dispatch`` of the model-ct workflow on main.

The monitor asks model-ct to run (``POST /repos/{owner}/{repo}/actions/workflows/model-ct.yaml/dispatches``)
with inputs that say which model, which triggers fired and why, so the run explains itself. This needs
only ``actions: write``; a ``repository_dispatch`` would need ``contents: write``, which also lets the
token push code, so the monitor (on a self-hosted runner) is not given it.
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

WORKFLOW = "model-ct.yaml"
REF = "main"
MAX_INPUT = 1000


def dispatch_payload(result: MonitorResult) -> dict[str, Any]:
    """The body of the ``workflow_dispatch`` request for this monitor run (inputs are strings)."""
    return {
        "ref": REF,
        "inputs": {
            "model": result.model,
            "champion": str(result.version),
            "triggers": ",".join(t.name for t in result.fired),
            "reason": f"trunkml monitor ({result.window}): " + "; ".join(t.reason for t in result.fired)[:MAX_INPUT],
        },
    }


def send_dispatch(settings: Settings, payload: dict[str, Any]) -> str:
    """Start model-ct on main with ``payload``; return where the request went.

    Needs ``GITHUB_TOKEN`` (or ``TRUNKML_GITHUB_TOKEN``, with ``actions: write``) and ``GITHUB_REPOSITORY``.
    """
    if settings.github_token is None or not settings.github_repository:
        raise ConfigError(
            "sending a workflow_dispatch needs GITHUB_TOKEN and GITHUB_REPOSITORY",
            hint="set both (the token needs actions: write), or leave them unset to print the payload only",
        )
    base = f"{settings.github_api_url.rstrip('/')}/repos/{settings.github_repository}"
    url = f"{base}/actions/workflows/{WORKFLOW}/dispatches"
    headers = {
        "authorization": f"Bearer {settings.github_token.get_secret_value()}",
        "accept": "application/vnd.github+json",
        "x-github-api-version": "2022-11-28",
    }
    try:
        response = httpx.post(url, json=payload, headers=headers, timeout=settings.http_timeout_s)
    except httpx.HTTPError as exc:
        raise UnavailableError(f"workflow_dispatch to {url} failed: {type(exc).__name__}: {exc}") from exc
    if response.status_code != 204:
        raise UnavailableError(
            f"workflow_dispatch to {url} answered {response.status_code}: {response.text[:300]}",
            hint="check the token's permissions (actions: write), the repository name and the workflow file",
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
            f"workflow_dispatch not sent: the same triggers were sent at {since} "
            f"(monitoring.triggers.repeat_after: {rules.repeat_after})"
        )
    where = send_dispatch(settings, payload)
    record_dispatch(registry, result.model, {"at": now, "triggers": triggers, "to": where})
    return f"workflow_dispatch of model-ct sent to {where}"
