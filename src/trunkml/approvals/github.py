"""The reviewer of a GitHub Actions environment, read from the run's approval record, not from ``GITHUB_ACTOR``.

``GITHUB_ACTOR`` is whoever started or re-ran the workflow. The person who approved the deployment
to a protected environment is in the run's review history::

    GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals
    [{"state": "approved", "comment": "…", "user": {"login": "octocat", …},
      "environments": [{"name": "prod", …}], …}, …]

(GitHub REST API, "Get the review history for a workflow run"; needs ``actions: read``.)
"""

from __future__ import annotations

from typing import NamedTuple

import httpx

from trunkml.config import Settings
from trunkml.errors import RefusedError, UnavailableError, UsageError


class Review(NamedTuple):
    """One approval of a protected environment in a workflow run."""

    login: str
    comment: str
    evidence: str


def _get(settings: Settings, path: str) -> object:
    if settings.github_token is None:
        raise UsageError("reading the environment's reviewer needs GITHUB_TOKEN (with actions: read)")
    url = f"{settings.github_api_url.rstrip('/')}{path}"
    headers = {
        "authorization": f"Bearer {settings.github_token.get_secret_value()}",
        "accept": "application/vnd.github+json",
        "x-github-api-version": "2022-11-28",
    }
    try:
        response = httpx.get(url, headers=headers, timeout=min(settings.http_timeout_s, 30), follow_redirects=False)
    except httpx.HTTPError as exc:
        raise UnavailableError(f"GitHub's API did not answer {url}: {exc}") from exc
    if response.status_code != 200:
        raise UnavailableError(f"GitHub's API answered {response.status_code} for {url}: {response.text[:200]}")
    try:
        return response.json()
    except ValueError as exc:
        raise UnavailableError(f"GitHub's API answered {url} with something other than JSON") from exc


def environment_reviews(settings: Settings, environment: str) -> list[Review]:
    """Who approved ``environment`` in this workflow run (``GITHUB_RUN_ID``), per GitHub's approval record."""
    if not settings.github_repository or not settings.github_run_id:
        raise UsageError("GITHUB_REPOSITORY and GITHUB_RUN_ID say which run's approval to read (set in Actions)")
    path = f"/repos/{settings.github_repository}/actions/runs/{settings.github_run_id}/approvals"
    body = _get(settings, path)
    if not isinstance(body, list):
        raise UnavailableError(f"GitHub's approval record of run {settings.github_run_id} is not a list")
    reviews: list[Review] = []
    for item in body:
        if not isinstance(item, dict) or item.get("state") != "approved":
            continue
        names = {str(env.get("name")) for env in item.get("environments", []) if isinstance(env, dict)}
        login = str((item.get("user") or {}).get("login") or "")
        if environment in names and login:
            evidence = f"{settings.github_api_url.rstrip('/')}{path}#{login}"
            reviews.append(Review(login, str(item.get("comment") or ""), evidence))
    if not reviews:
        raise RefusedError(
            f"nobody approved the '{environment}' environment in run {settings.github_run_id}",
            hint="protect the environment with required reviewers; the job waits for one of them",
        )
    return reviews
