"""Hot swap under load: no dropped requests, no version going backwards, bad candidates refused."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.serving.conftest import RunningServer, ServingProject
from tests.serving.models import code_model
from trunkml.registry import lineage

CLIENTS = 32
MOVES = 20
MIN_REQUESTS = 10_000


async def _client(url: str, stop: asyncio.Event, seen: list[int], failures: list[str], backwards: list[str]) -> None:
    last = 0
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        while not stop.is_set() or len(seen) < MIN_REQUESTS:
            try:
                response = await client.post("/predict", json={"text": "vocês são todos uns nojentos"})
            except httpx.HTTPError as exc:
                failures.append(f"{type(exc).__name__}: {exc}")
                continue
            if response.status_code != 200:
                failures.append(f"{response.status_code}: {response.text[:200]}")
                continue
            version = int(response.headers["x-model-version"])
            if version < last:
                backwards.append(f"{last} -> {version}")
            last = version
            seen.append(version)


def _load(url: str, stop: threading.Event, seen: list[int], result: dict[str, list[str]]) -> None:
    async def main() -> None:
        done = asyncio.Event()

        async def watch() -> None:
            while not stop.is_set():
                await asyncio.sleep(0.05)
            done.set()

        failures: list[str] = []
        backwards: list[str] = []
        watcher = asyncio.create_task(watch())
        await asyncio.gather(*(_client(url, done, seen, failures, backwards) for _ in range(CLIENTS)))
        await watcher
        result.update(failures=failures, backwards=backwards)

    asyncio.run(main())


@pytest.mark.slow
def test_twenty_alias_moves_under_32_clients_drop_nothing(
    serving_project: ServingProject, start_server: Callable[..., RunningServer]
) -> None:
    name = f"swap-{uuid.uuid4().hex[:6]}"
    versions = serving_project.copies(name, MOVES + 1)
    serving_project.champion(name, versions[0])
    server = start_server(serving_project.endpoint(name, follow={"poll_interval_s": 0.1}))
    stop = threading.Event()
    result: dict[str, list[str]] = {}
    seen: list[int] = []
    load = threading.Thread(target=_load, args=(server.url, stop, seen, result))
    load.start()
    try:
        server.wait_for(lambda _: len(seen) >= 200)  # all clients are sending before the first move
        for version in versions[1:]:
            serving_project.champion(name, version)
            server.serving(version, timeout_s=60)
    finally:
        stop.set()
        load.join(300)
    assert result["failures"] == []
    assert result["backwards"] == []
    assert len(seen) >= MIN_REQUESTS
    assert set(versions) <= set(seen)  # every version served some requests: 20 real swaps under load
    with server.client() as client:
        metrics = client.get("/metrics").text
    assert f'trunkml_model_swaps_total{{role="champion"}} {MOVES + 1}.0' in metrics


def _bad_candidates(project: ServingProject, name: str, scratch: Path) -> dict[str, int]:
    """Five versions that must be refused, each for a different reason."""
    files = project.base_files(scratch / "base")
    tags = dict(project.base_tags)
    digests = json.loads(tags[lineage.ARTIFACT_DIGESTS])
    wrong = {**tags, lineage.ARTIFACT_DIGESTS: json.dumps({**digests, "MLmodel": "0" * 64})}
    no_digests = {k: v for k, v in tags.items() if k != lineage.ARTIFACT_DIGESTS}
    corrupt = project.register_folder(name, files, tags=tags)  # digests of the real files, then a byte changes
    details = project.registry.client.get_model_version(name, str(corrupt))
    stored = Path(details.source.removeprefix("file://")) / "artifacts" / "model" / "linear.npz"
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0xFF
    stored.write_bytes(bytes(data))
    broken = scratch / "broken"
    shutil.copytree(files, broken)
    (broken / "MLmodel").write_text("flavors:\n  python_function:\n    loader_module: no_such_module\n")
    return {
        "corrupt artifact": corrupt,
        "digest mismatch": project.copies_with_tags(name, wrong),
        "no recorded digests": project.copies_with_tags(name, no_digests),
        "load error": project.register_folder(name, broken),
        "wrong answers": project.register_folder(name, code_model(scratch / "bad", "bad_scores")),
    }


def test_bad_candidates_are_refused_and_the_old_model_keeps_serving(
    serving_project: ServingProject, start_server: Callable[..., RunningServer], tmp_path: Path
) -> None:
    name = f"bad-{uuid.uuid4().hex[:6]}"
    (good,) = serving_project.copies(name, 1)
    serving_project.champion(name, good)
    bad = _bad_candidates(serving_project, name, tmp_path)
    server = start_server(serving_project.endpoint(name, follow={"poll_interval_s": 3600}))
    kept = 0
    reasons = {}
    for case, version in bad.items():
        serving_project.champion(name, version)
        outcome = server.reload()
        reasons[case] = [r["reason"] for r in outcome["refused"] if r["version"] == version]
        with server.client() as client:
            ready = client.get("/readyz")
            answer = client.post("/predict", json={"text": "bom dia"})
        if ready.status_code == 200 and answer.status_code == 200 and answer.headers["x-model-version"] == str(good):
            kept += 1
    assert kept == 5, server.logs()[-3000:]
    assert reasons == {
        "corrupt artifact": ["verify"],
        "digest mismatch": ["verify"],
        "no recorded digests": ["verify"],
        "load error": ["load"],
        "wrong answers": ["smoke"],
    }
    with server.client() as client:
        metrics = client.get("/metrics").text
        refused = client.get("/model").json()["refused"]
    assert 'trunkml_model_swap_failures_total{reason="verify",role="champion"} 3.0' in metrics
    assert len(refused) == 5
    assert all(r["message"] for r in refused)
    (again,) = serving_project.copies(name, 1)  # a good version after all that still swaps in
    serving_project.champion(name, again)
    assert server.reload()["champion"] == again
