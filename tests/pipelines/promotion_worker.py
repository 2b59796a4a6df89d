"""A worker for the concurrency test and bench: moves aliases N times, prints one JSON line.

Usage: python promotion_worker.py SEED ROUNDS champion|fresh   (in a trunkml project folder)
"""

import json
import random
import sys
import time

from trunkml.config import Settings
from trunkml.pipelines.promotion import move_champion
from trunkml.registry import Registry
from trunkml.registry.aliases import move_alias

seed, rounds, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = random.Random(seed)
settings = Settings()
moves, errors, latencies = 0, [], []
for _ in range(rounds):
    started = time.perf_counter()
    try:
        if mode == "champion":
            move_champion(settings, rng.choice([1, 2]), actor=f"worker-{seed}", reason="concurrency test")
        else:
            move_alias(Registry(settings), "promo-model", f"fresh-{_}", rng.choice([1, 2]))
        moves += 1
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
    latencies.append(time.perf_counter() - started)
print(json.dumps({"moves": moves, "errors": errors, "latencies": latencies}))
