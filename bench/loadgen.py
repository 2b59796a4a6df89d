"""A small closed-loop HTTP load generator, for machines without wrk.

`python bench/loadgen.py URL BODY CONNECTIONS SECONDS` POSTs BODY (JSON) from
CONNECTIONS concurrent clients for SECONDS and prints one JSON line: req/s, p50 and
p99 latency in ms, and the count of non-2xx answers or transport errors.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import httpx


async def client(url: str, body: bytes, until: float, latencies: list[float], errors: list[int]) -> None:
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=1)) as http:
        while time.perf_counter() < until:
            started = time.perf_counter()
            try:
                response = await http.post(url, content=body, headers={"content-type": "application/json"})
                ok = response.is_success
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - started)
            if not ok:
                errors.append(1)


async def main(url: str, body: str, connections: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    errors: list[int] = []
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(*(client(url, body.encode(), until, latencies, errors) for _ in range(connections)))
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "rps": len(ordered) / wall,
        "p50": ordered[len(ordered) // 2] * 1000,
        "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        "errors": float(len(errors)),
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))))
