"""GitHub's environment reviewer becomes a signed approval: read from the run's approval record, not GITHUB_ACTOR.

GitHub's REST API is not reachable here, so a local HTTP server on 127.0.0.1 plays it, answering
``GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals`` with the response shape GitHub documents
("Get the review history for a workflow run"). Everything else is real: the registry, git, the keys.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.conftest import Project

TOKEN = "ghs_local-test-token"


def review(login: str, environment: str, state: str = "approved") -> dict[str, Any]:
    """One entry as GitHub documents it."""
    return {
        "state": state,
        "comment": f"{login} had a look",
        "environments": [
            {
                "id": 161088068,
                "node_id": "MDExOkVudmlyb25tZW50MTYxMDg4MDY4",
                "name": environment,
                "url": f"https://api.github.com/repos/octo/models/environments/{environment}",
                "html_url": f"https://github.com/octo/models/deployments/activity_log?environments_filter={environment}",
                "created_at": "2026-11-23T22:00:40Z",
                "updated_at": "2026-11-23T22:00:40Z",
            }
        ],
        "user": {"login": login, "id": 1, "node_id": "MDQ6VXNlcjE=", "type": "User", "site_admin": False},
    }


class FakeGitHub(ThreadingHTTPServer):
    reviews: list[dict[str, Any]]
    seen: list[tuple[str, str]]


class Handler(BaseHTTPRequestHandler):
    server: FakeGitHub

    def do_GET(self) -> None:
        self.server.seen.append((self.path, self.headers.get("authorization", "")))
        if (
            self.path != "/repos/octo/models/actions/runs/4242/approvals"
            or self.headers["authorization"] != f"Bearer {TOKEN}"
        ):
            self.send_response(404)
            self.end_headers()
            return
        body = json.dumps(self.server.reviews).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        return


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    server = FakeGitHub(("127.0.0.1", 0), Handler)
    server.reviews, server.seen = [], []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def in_actions(promo: Project, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> Project:
    """promo-model v1 evaluated; the model-cd job of run 4242 in the `test` environment, started by the author."""
    text = (promo.root / "trunkml.yaml").read_text(encoding="utf-8")
    (promo.root / "trunkml.yaml").write_text(text + "signers:\n  attestors: [ci-test]\n", encoding="utf-8")
    attestor = promo.signer("ci-test")  # the environment's own key, a secret of the `test` environment only
    promo.signer("octo-reviewer", "octo-reviewer@corp.example")
    promo.signer("dev-login", "dev@example.org")  # the commit's author, known by their GitHub login
    host, port = github.server_address[:2]
    for key, value in {
        "TRUNKML_ENV": "test",
        "GITHUB_ACTOR": "dev-login",
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": "octo/models",
        "GITHUB_RUN_ID": "4242",
        "GITHUB_API_URL": f"http://{host}:{port}",
        "TRUNKML_APPROVAL_KEY_DATA": attestor.read_text(),
    }.items():
        monkeypatch.setenv(key, value)
    assert promo.cli("evaluate", "--challenger", "1").code == 0
    return promo


def test_the_environment_reviewer_is_attested_not_the_actor(in_actions: Project, github: FakeGitHub) -> None:
    github.reviews = [review("someone", "prod"), review("octo-reviewer", "test")]
    approved = in_actions.cli("approve", "1", "--github-reviewer", "--json")
    assert approved.code == 0, approved.stderr
    statement = approved.json()["approvals"][0]["statement"]
    assert (statement["approver"], statement["via"]) == ("octo-reviewer", "github-environment")
    assert statement["evidence"].endswith("/repos/octo/models/actions/runs/4242/approvals#octo-reviewer")
    assert github.seen == [("/repos/octo/models/actions/runs/4242/approvals", f"Bearer {TOKEN}")]
    listed = in_actions.cli("approvals", "list", "1", "--json").json()
    assert [(v["approver"], v["via"], v["counts"]) for v in listed] == [("octo-reviewer", "github-environment", True)]
    assert in_actions.cli("promote", "1").code == 0  # GITHUB_ACTOR (the author) only runs the job


def test_a_reviewer_who_wrote_the_change_or_is_unknown_or_absent_is_refused(
    in_actions: Project, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    github.reviews = [review("dev-login", "test")]
    own = in_actions.cli("approve", "1", "--github-reviewer")
    assert own.code == 1
    assert "dev-login is an author of this change (Dev <dev@example.org>)" in own.stderr
    github.reviews = [review("stranger", "test")]
    unknown = in_actions.cli("approve", "1", "--github-reviewer")
    assert unknown.code == 1
    assert "reviewer stranger is not in allowed_signers" in unknown.stderr
    github.reviews = [review("octo-reviewer", "test", state="rejected"), review("octo-reviewer", "prod")]
    absent = in_actions.cli("approve", "1", "--github-reviewer")
    assert absent.code == 1
    assert "nobody approved the 'test' environment in run 4242" in absent.stderr
    monkeypatch.setenv("TRUNKML_APPROVAL_KEY", str(in_actions.root / ".trunkml" / "keys" / "octo-reviewer"))
    github.reviews = [review("octo-reviewer", "test")]
    not_attestor = in_actions.cli("approve", "1", "--github-reviewer")
    assert not_attestor.code == 2
    assert "octo-reviewer is not listed in signers.attestors" in not_attestor.stderr
    assert in_actions.cli("approvals", "list", "1", "--json").json() == []
