"""Benchmark: reference-model quality on Fortuna 2019 and CT wall time, through the CLI.

Copies the reference project (pointers, job, model code) into a temporary git repo,
points the mirror at ../shared/data, and runs, as a user would:
  1. `trunkml ct hate-pt-speech`              - cold: empty store and tracking DB
  2. `trunkml ct hate-pt-speech` again        - same commit: must reuse the version
  3. `trunkml train ... --param threshold_objective=recall_at_precision`  - the other objective
It prints hate-class precision/recall/F1 and macro-F1 on the recorded seeded,
stratified 80/20 split, next to the anchor (TF-IDF+LR 10-fold CV: F1 0.72) and the
goal (F1 >= 0.75 at precision >= 0.70).

Run: `make bench` or `.venv/bin/python bench/quality.py`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
MIRROR = REPO.parent / "shared" / "data"
TRUNKML = str(Path(sys.executable).with_name("trunkml"))
console = Console(width=120)


def run(root: Path, *args: str) -> tuple[dict[str, object], float]:
    env = {
        **os.environ,
        "TRUNKML_PROJECT": str(root),
        "TRUNKML_HOME": str(root / ".trunkml"),
        "TRUNKML_DATA_MIRROR": str(MIRROR),
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    started = time.perf_counter()
    done = subprocess.run([TRUNKML, *args, "--json"], cwd=root, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"`trunkml {' '.join(args)}` failed ({done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout), seconds


def project(tmp: Path) -> Path:
    root = tmp / "hate-pt-speech"
    root.mkdir()
    shutil.copy(REPO / "trunkml.yaml", root)
    for folder in ("datasets", "jobs", "src/hatedetection"):
        shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (root / ".gitignore").write_text(".trunkml/\n__pycache__/\n", encoding="utf-8")
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "user.name=bench", "-c", "user.email=bench@example.org", "commit", "-qm", "bench"],
    ):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)
    return root


def main() -> None:
    if not MIRROR.is_dir():
        raise SystemExit(f"needs the real datasets at {MIRROR}")
    with tempfile.TemporaryDirectory(prefix="trunkml-quality-") as tmp:
        root = project(Path(tmp))
        cold, cold_s = run(root, "ct", "hate-pt-speech")
        again, again_s = run(root, "ct", "hate-pt-speech")
        other, other_s = run(root, "train", "hate-pt-speech", "--param", "threshold_objective=recall_at_precision")
    quality = Table(
        "run",
        "objective",
        "precision",
        "recall",
        "F1",
        "macro-F1",
        "threshold",
        "wall s",
        title="hate-pt-speech on Fortuna 2019 (eval: seeded stratified 20%, seed 42)",
    )
    for name, result, seconds, objective in (
        ("ct (cold)", cold, cold_s, "f1 @ precision>=0.72"),
        ("ct (same commit)", again, again_s, "reused version"),
        ("train (experiment)", other, other_s, "recall @ precision>=0.72"),
    ):
        m = result["metrics"]
        assert isinstance(m, dict)
        quality.add_row(
            f"{name} → v{result['version']}",
            objective,
            f"{m['precision']:.3f}",
            f"{m['recall']:.3f}",
            f"{m['f1']:.3f}",
            f"{m['macro_f1']:.3f}",
            f"{m.get('threshold', float('nan')):.3f}",
            f"{seconds:.1f}",
        )
    quality.add_row("anchor: TF-IDF+LR 10-fold CV", "", "0.74", "0.71", "0.72", "0.82", "", "")
    quality.add_row("goal", "", ">= 0.70", "", ">= 0.75", "", "", "< 20 (CT)")
    console.print(quality)
    console.print(f"CT reused the version on the second run: {again['reused']} (v{again['version']})")


if __name__ == "__main__":
    main()
