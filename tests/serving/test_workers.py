"""`trunkml serve --workers N`: every worker follows @champion, and a swap reaches all of them within one poll + 5 s."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.serving.conftest import ServingProject, launch_server

POLL_S = 1.0


def seen_by_worker(url: str, deadline_s: float, want: int | None = None) -> dict[int, tuple[int, float]]:
    """Ask /model over fresh connections (so the kernel spreads them) until two workers answered (with ``want``).

    Returns worker pid -> (champion version, when it was first seen with that version).
    """
    seen: dict[int, tuple[int, float]] = {}
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        body = httpx.get(f"{url}/model", timeout=10).json()  # a new connection each time
        version = body["champion"]["version"] if body["champion"] else None
        if version is not None and (want is None or version == want):
            seen.setdefault(body["worker"], (version, time.monotonic()))
        elif body["worker"] in seen:
            del seen[body["worker"]]
        if len(seen) == 2:
            return seen
        time.sleep(0.02)
    return seen


def test_a_swap_converges_across_two_workers_within_a_poll_interval_plus_five_seconds(
    serving_project: ServingProject, tmp_path: Path
) -> None:
    name, champion, challenger = serving_project.champion_and_challenger("workers")
    endpoint = serving_project.endpoint(name, follow={"poll_interval_s": POLL_S})
    server = launch_server(serving_project, endpoint, tmp_path, workers=2)
    try:
        before = seen_by_worker(server.url, 120, want=champion)
        assert len(before) == 2, f"both workers should serve v{champion}: {before}"
        moved = time.monotonic()
        serving_project.champion(name, challenger)
        after = seen_by_worker(server.url, POLL_S + 5 + 10, want=challenger)
        assert len(after) == 2, f"both workers should serve v{challenger}: {after}"
        slowest = max(when for _, when in after.values()) - moved
        assert slowest <= POLL_S + 5, f"the last worker swapped {slowest:.1f} s after the move"
        with httpx.Client(base_url=server.url, timeout=10) as client:
            versions = {client.post("/predict", json={"text": f"t{i}"}).json()["version"] for i in range(20)}
        assert versions == {challenger}
    finally:
        server.stop()
