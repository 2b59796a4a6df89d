"""16 processes move @champion concurrently for 10 rounds on SQLite: no errors reach users, one event per move."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Project
from trunkml.registry import Registry
from trunkml.registry.aliases import current
from trunkml.registry.events import history

WORKER = Path(__file__).with_name("promotion_worker.py")


def run_workers(
    project: Project | Path, processes: int, rounds: int, mode: str, env: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Race ``processes`` promotion workers in the project folder (with ``env`` on top of a clean environment).

    They are real processes, forked by one launcher once it has imported trunkml and MLflow, so all of them
    start at once (and the machine does not import MLflow sixteen times over).
    """
    root = project if isinstance(project, Path) else project.root
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TRUNKML_", "MLFLOW_"))}
    done = subprocess.run(
        [sys.executable, str(WORKER), "--processes", str(processes), str(rounds), mode],
        cwd=root,
        env={**clean, **env} if env is not None else None,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = [json.loads(line) for line in done.stdout.strip().splitlines()]
    assert len(results) == processes
    return results


@pytest.mark.slow
def test_sixteen_processes_move_the_champion_for_ten_rounds(promo: Project) -> None:
    results = run_workers(promo, processes=16, rounds=10, mode="champion")
    assert [error for r in results for error in r["errors"]] == []
    moves = sum(int(r["moves"]) for r in results)
    assert moves == 160
    registry = Registry(promo.settings())
    assert current(registry, "promo-model", "champion") in {1, 2}
    events = [e for e in history(registry, "promo-model") if e.kind == "move"]
    assert len(events) == moves
    # serialised: each move starts from where the previous one left the champion
    assert all(later.from_version == earlier.to_version for earlier, later in itertools.pairwise(events))
    assert events[-1].to_version == current(registry, "promo-model", "champion")
    (Path(promo.root) / "concurrency.json").write_text(json.dumps(results), encoding="utf-8")


@pytest.mark.slow
def test_first_time_alias_creation_races_are_absorbed(promo: Project) -> None:
    results = run_workers(promo, processes=16, rounds=3, mode="fresh")
    assert [error for r in results for error in r["errors"]] == []
    registry = Registry(promo.settings())
    assert all(current(registry, "promo-model", f"fresh-{i}") in {1, 2} for i in range(3))
