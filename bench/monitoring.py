"""Benchmark: what monitoring costs the server, and how long `trunkml monitor` takes per window size.

Side by side in one run, on the same texts (Fortuna tweets through the mirror, else
synthetic demo data):
  * log writer  - rows/s the prediction log's background thread stores, with and without the
                  monitoring features (token hashes, character 3-gram buckets)
  * monitor     - reading a window back from the log and computing every drift statistic
                  with its noise level, for windows of 1k, 10k and 100k texts

Run: `.venv/bin/python bench/monitoring.py` (part of `make bench`).
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import track
from rich.table import Table

from trunkml.config import Settings
from trunkml.config.project import MonitoringConfig
from trunkml.config.windows import Window
from trunkml.datasets import DataService
from trunkml.datasets.profile import build_profile
from trunkml.demo.synthdata import SynthSpec, generate_csv
from trunkml.monitoring import monitor as m
from trunkml.serving.logread import LogReader
from trunkml.serving.predlog import PredictionRow, SqliteSink

REPO = Path(__file__).resolve().parents[1]
MIRROR = REPO.parent / "shared" / "data"
console = Console(width=120)


def texts_and_labels() -> tuple[list[str], list[int], str]:
    if (MIRROR / "fortuna-2019").is_dir():
        frame = DataService(Settings(project=REPO, data_mirror=MIRROR)).load("fortuna-2019").labelled()
        return frame["text"].tolist(), frame["label"].astype(int).tolist(), "Fortuna 2019"
    frame = pd.read_csv(io.BytesIO(generate_csv(SynthSpec(rows=5000, seed=1))))
    return frame["text"].tolist(), frame["label"].astype(int).tolist(), "synthetic demo data"


def rows_for(texts: list[str], count: int) -> list[PredictionRow]:
    now = time.time()
    return [PredictionRow(f"r{i}", 0, now, "bench", 1, "champion", 0.3, 0, texts[i % len(texts)]) for i in range(count)]


def writer_rate(path: Path, rows: list[PredictionRow], features: bool) -> float:
    sink = SqliteSink(path, features=features)
    started = time.perf_counter()
    for start in range(0, len(rows), 5000):  # the writer thread takes up to 5000 rows per transaction
        sink.write(rows[start : start + 5000])
    seconds = time.perf_counter() - started
    sink.close()
    return len(rows) / seconds


def monitor_seconds(path: Path, size: int, profile_texts: list[str], labels: list[int]) -> tuple[float, int]:
    profile = build_profile(profile_texts, labels, profile_texts[:1000], labels[:1000], np.linspace(0, 1, 1000))
    config = MonitoringConfig()
    started = time.perf_counter()
    reader = LogReader(path)
    served = reader.served("bench", Window.parse(str(size)))
    reader.close()
    checks = m._text_checks(profile, served, m._limits(config)) + m._score_checks(profile, served, m._limits(config))
    return time.perf_counter() - started, len(checks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows written per writer measurement")
    args = parser.parse_args()
    texts, labels, source = texts_and_labels()
    rows = rows_for(texts, args.rows)
    table = Table(title=f"Prediction log writer ({source}, {args.rows:,} rows, 5000 per transaction)")
    table.add_column("features")
    table.add_column("rows/s", justify="right")
    with tempfile.TemporaryDirectory() as scratch:
        rates = {}
        for features in track((False, True), description="writing", console=console):
            rates[features] = writer_rate(Path(scratch) / f"log-{features}.db", rows, features)
        table.add_row("off (text hash, length, score)", f"{rates[False]:,.0f}")
        table.add_row("on (+ token hashes, 3-gram buckets)", f"{rates[True]:,.0f}")
        table.add_row("ratio on/off", f"{rates[True] / rates[False]:.2f}")
        console.print(table)
        timing = Table(title="trunkml monitor: read a window and compute every statistic with its noise level")
        timing.add_column("window (texts)", justify="right")
        timing.add_column("statistics", justify="right")
        timing.add_column("seconds", justify="right")
        for size in track((1_000, 10_000, 100_000), description="monitoring", console=console):
            seconds, checks = monitor_seconds(Path(scratch) / "log-True.db", size, texts, labels)
            timing.add_row(f"{size:,}", str(checks), f"{seconds:.2f}")
        console.print(timing)


if __name__ == "__main__":
    main()
