"""Workers for the concurrency tests and bench: each moves aliases N times and reports one JSON line.

Usage (in a trunkml project folder):
  python promotion_worker.py SEED ROUNDS champion|fresh|register       one worker
  python promotion_worker.py --processes N ROUNDS champion|fresh|register
      N worker processes, forked once trunkml and MLflow are imported, so that they all start racing at
      once instead of one by one as each finishes its own imports; prints one JSON line per worker
      (seeds 0..N-1), and exits 1 if any worker process died.

``register`` registers ROUNDS new versions of promo-model from version 1's files and prints them.
"""

import json
import os
import random
import sys
import time
import traceback
from typing import Any

from trunkml.config import Settings
from trunkml.registry import Registry, register
from trunkml.registry.aliases import move_alias
from trunkml.release.promotion import move_champion


def work(seed: int, rounds: int, mode: str) -> dict[str, Any]:
    rng = random.Random(seed)
    settings = Settings()
    moves, errors, latencies, versions = 0, [], [], []
    for round_ in range(rounds):
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
                move_alias(Registry(settings), "promo-model", f"fresh-{round_}", rng.choice([1, 2]))
            moves += 1
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        latencies.append(time.perf_counter() - started)
    return {"moves": moves, "errors": errors, "latencies": latencies, "versions": versions}


def forked(processes: int, rounds: int, mode: str) -> int:
    """Run ``processes`` workers as forked processes; print their reports in seed order."""
    children: list[tuple[int, int]] = []
    for seed in range(processes):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker: nothing of the parent's is open but the imports
            os.close(read_end)
            code = 0
            try:
                report = json.dumps(work(seed, rounds, mode)).encode()
                with os.fdopen(write_end, "wb") as out:
                    out.write(report)
            except BaseException:  # any failure is this worker's exit status
                traceback.print_exc()
                code = 1
            os._exit(code)
        os.close(write_end)
        children.append((pid, read_end))
    failed = 0
    for pid, read_end in children:
        with os.fdopen(read_end, "rb") as pipe:
            report = pipe.read().decode()
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0 or not report:
            failed += 1
            report = json.dumps({"moves": 0, "errors": [f"worker pid {pid} died: status {status}"]})
        print(report, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1] == "--processes":
        sys.exit(forked(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
    print(json.dumps(work(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])))
