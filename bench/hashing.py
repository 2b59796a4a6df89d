"""Benchmark: does `trunkml data verify` hash at disk speed?

Compares, side by side in one run and on the same files:
  * raw read      - reading the file into a reused buffer, no hashing (the disk/page-cache ceiling)
  * sha256sum     - coreutils, the usual reference
  * hash_file     - trunkml's streaming hasher (library call)
  * data verify   - the whole CLI command, process start-up included

Run: `make bench` (or `.venv/bin/python bench/hashing.py [--size-mib 1024]`).
The Fortuna row needs ../shared/data (skipped otherwise). Files are read warm (page cache)
after one untimed pass; a cold row is added when the kernel lets us drop caches.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.progress import track
from rich.table import Table

from trunkml.config import Settings
from trunkml.datasets import DataService, DatasetPointer
from trunkml.datasets.hashing import CHUNK_BYTES, hash_file

REPO = Path(__file__).resolve().parents[1]
FORTUNA = (
    REPO.parent
    / "shared"
    / "data"
    / "fortuna-2019"
    / "2019-05-28_portuguese_hate_speech_hierarchical_classification.csv"
)
console = Console(width=120)


def raw_read(path: Path) -> None:
    buffer = bytearray(CHUNK_BYTES)
    with path.open("rb", buffering=0) as stream:
        while stream.readinto(buffer):
            pass


def sha256sum(path: Path) -> None:
    subprocess.run(["sha256sum", str(path)], check=True, capture_output=True)


def best_of(runs: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def make_big_file(path: Path, size_mib: int) -> None:
    block = bytes(range(256)) * 4096  # 1 MiB, varied bytes
    with path.open("wb") as out:
        for index in track(range(size_mib), description=f"writing {size_mib} MiB test file", console=console):
            out.write(block[index % 256 :] + block[: index % 256])


def project_with(workdir: Path, name: str, source: Path) -> DataService:
    """A throw-away project whose store holds ``source`` under a pointer named ``name``."""
    (workdir / "trunkml.yaml").write_text("name: bench\n", encoding="utf-8")
    service = DataService(Settings(project=workdir, home=workdir / ".trunkml", data_mirror=None))
    sha, size = service.store.ingest_file(source, label=name)
    service.catalog.save(
        DatasetPointer(
            name=name,
            version=1,
            uri=f"https://example.invalid/{source.name}",
            sha256=sha,
            size_bytes=size,
            text_column="text",
            label_column="label",
            labels={"0": 0, "1": 1},
        )
    )
    return service


def cli_verify(workdir: Path, name: str) -> None:
    env = {"TRUNKML_PROJECT": str(workdir), "TRUNKML_HOME": str(workdir / ".trunkml"), "PATH": "/usr/bin:/bin"}
    trunkml = Path(sys.executable).with_name("trunkml")
    subprocess.run([str(trunkml), "data", "verify", name], check=True, capture_output=True, env=env)


def drop_caches() -> bool:
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def measure(label: str, name: str, source: Path, runs: int, table: Table) -> None:
    with tempfile.TemporaryDirectory(prefix="trunkml-bench-") as tmp:
        workdir = Path(tmp)
        service = project_with(workdir, name, source)
        stored = service.store.object_path(service.catalog.current()[0].sha256)
        size_mb = stored.stat().st_size / 1e6
        raw_read(stored)  # warm the page cache once, untimed
        rows = {
            "raw read": best_of(runs, lambda: raw_read(stored)),
            "sha256sum": best_of(runs, lambda: sha256sum(stored)),
            "hash_file": best_of(runs, lambda: hash_file(stored)),
            "data verify (CLI)": best_of(runs, lambda: cli_verify(workdir, name)),
        }
        if drop_caches():
            rows["raw read, cold cache"] = best_of(1, lambda: raw_read(stored))
        if drop_caches():
            rows["hash_file, cold cache"] = best_of(1, lambda: hash_file(stored))
        if drop_caches():
            rows["data verify (CLI), cold cache"] = best_of(1, lambda: cli_verify(workdir, name))
        for method, seconds in rows.items():
            table.add_row(
                label,
                method,
                f"{size_mb:,.1f}",
                f"{seconds:.3f}",
                f"{size_mb / seconds:,.0f}",
                f"{seconds / rows['raw read']:.2f}x",
                f"{seconds / rows['sha256sum']:.2f}x",
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024, help="size of the synthetic file (default 1024)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per row; the best is shown")
    args = parser.parse_args()
    table = Table(
        "file",
        "method",
        "MB",
        "seconds",
        "MB/s",
        "vs raw read",
        "vs sha256sum",
        title="sha256 verification speed (best of runs)",
    )
    if FORTUNA.is_file():
        measure("Fortuna 2019", "fortuna-2019", FORTUNA, args.runs, table)
    else:
        console.print(f"[yellow]skipping Fortuna: {FORTUNA} not found[/]")
    with tempfile.TemporaryDirectory(prefix="trunkml-bigfile-") as tmp:
        big = Path(tmp) / "big.csv"
        make_big_file(big, args.size_mib)
        measure(f"synthetic {args.size_mib} MiB", "big", big, args.runs, table)
        big.unlink()
    console.print(table)
    console.print(f"disk free after run: {shutil.disk_usage(tempfile.gettempdir()).free / 1e9:.0f} GB")


if __name__ == "__main__":
    main()
