"""A worker for the concurrency test and bench: moves aliases N times, prints one JSON line.

Usage: python promotion_worker.py SEED ROUNDS champion|fresh|register   (in a trunkml project folder)

``register`` registers ROUNDS new versions of promo-model from version 1's files and prints them.
"""

import json
import random
import sys
import time

from trunkml.config import Settings
from trunkml.pipelines.promotion import move_champion
from trunkml.registry import Registry, register
from trunkml.registry.aliases import move_alias

seed, rounds, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = random.Random(seed)
settings = Settings()
moves, errors, latencies, versions = 0, [], [], []
for _ in range(rounds):
    started = time.perf_counter()
    try:
        if mode == "register":
            registry = Registry(settings)
            base = registry.client.get_model_version("promo-model", "1")
            tags = dict(base.tags or {})
            versions.append(register(registry, "promo-model", base.source, base.run_id, tags, base.model_id))
        elif mode == "champion":
            move_champion(settings, rng.choice([1, 2]), actor=f"worker-{seed}", reason="concurrency test")
        else:
            move_alias(Registry(settings), "promo-model", f"fresh-{_}", rng.choice([1, 2]))
        moves += 1
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
    latencies.append(time.perf_counter() - started)
print(json.dumps({"moves": moves, "errors": errors, "latencies": latencies, "versions": versions}))
