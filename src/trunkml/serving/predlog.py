"""The prediction log: one row per served prediction, written in batches off the request path.

Requests only put rows on an in-memory queue; one thread writes them to the sink
in transactions. A failing sink is retried, then its rows are counted as dropped:
a broken log never turns an answered request into an error. Feedback (the true
label of an earlier prediction) goes to the same sink, synchronously, because the
caller wants to know it was stored.
"""

from __future__ import annotations

import hashlib
import json
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple, Protocol

from trunkml.datasets.profile import text_features

SCHEMA = """
CREATE TABLE IF NOT EXISTS predictions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL,
    item INTEGER NOT NULL,
    ts REAL NOT NULL,
    model TEXT NOT NULL,
    version INTEGER NOT NULL,
    route TEXT NOT NULL,
    input_sha256 TEXT NOT NULL,
    text_chars INTEGER NOT NULL,
    score REAL NOT NULL,
    label INTEGER NOT NULL,
    text TEXT,
    tokens BLOB,
    ngrams BLOB,
    features TEXT
);
CREATE INDEX IF NOT EXISTS predictions_request ON predictions (request_id, item);
CREATE INDEX IF NOT EXISTS predictions_ts ON predictions (ts);
CREATE INDEX IF NOT EXISTS predictions_route ON predictions (model, route, version);
CREATE TABLE IF NOT EXISTS feedback (
    request_id TEXT NOT NULL,
    item INTEGER NOT NULL,
    label INTEGER NOT NULL,
    ts REAL NOT NULL,
    PRIMARY KEY (request_id, item)
);
"""
RETRIES = 3
# Columns added after the first release: an older log gains them on open (its old rows keep NULL).
ADDED_COLUMNS = {"tokens": "BLOB", "ngrams": "BLOB", "features": "TEXT"}


class PredictionRow(NamedTuple):
    """One served (or shadow) prediction of one text (a tuple: rows are made on the hot path).

    The sink derives what it stores from ``text`` off the request path: its sha256, its length,
    its monitoring features (token hashes and character 3-gram buckets, see
    :mod:`trunkml.datasets.profile`), and the text itself only where the endpoint keeps texts.
    """

    request_id: str
    item: int
    ts: float
    model: str
    version: int
    route: str
    score: float
    label: float
    """0/1, a class index, or a regression model's prediction (SQLite keeps whole numbers as integers)."""
    text: str
    features: str | None = None
    """A record's feature values as canonical JSON (models of several features); None for texts."""


def canonical_json(record: object) -> str:
    """A record as JSON the same way every time (sorted keys, no spaces): what is hashed and stored."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


class PredictionSink(Protocol):
    """Where prediction rows and feedback end up (SQLite by default)."""

    def write(self, rows: Sequence[PredictionRow]) -> None:
        """Store ``rows`` in one transaction."""

    def record_feedback(self, request_id: str, item: int, label: float) -> None:
        """Store the true label (class index) or value of an earlier prediction (the latest answer wins)."""

    def has_prediction(self, request_id: str, item: int) -> bool:
        """True if a served prediction with this request id and item is stored."""

    def close(self) -> None:
        """Release the sink."""


class SqliteSink:
    """The embedded prediction log: a SQLite file in WAL mode, safe for several server workers."""

    def __init__(self, path: Path, *, store_text: bool = False, features: bool = True) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.store_text = store_text
        self.features = features
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Add the columns an older log lacks, once, even with several workers opening it together."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            present = {row[1] for row in self._db.execute("PRAGMA table_info(predictions)")}
            for column, kind in ADDED_COLUMNS.items():
                if column not in present:
                    self._db.execute(f"ALTER TABLE predictions ADD COLUMN {column} {kind}")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _records(self, rows: Sequence[PredictionRow]) -> list[tuple[object, ...]]:
        """The stored form of ``rows``; shadow rows repeat a served text, so they carry no features."""
        served = [row.text for row in rows if row.route != "shadow"] if self.features else []
        features = iter(text_features(served))
        records: list[tuple[object, ...]] = []
        for row in rows:
            tokens, grams = next(features) if self.features and row.route != "shadow" else (None, None)
            given = row.text if row.features is None else row.features
            records.append((
                row.request_id, row.item, row.ts, row.model, row.version, row.route,
                hashlib.sha256(given.encode()).hexdigest(), len(row.text), row.score, row.label,
                row.text if self.store_text else None, tokens, grams,
                row.features if self.features and row.route != "shadow" else None,
            ))  # fmt: skip
        return records

    def write(self, rows: Sequence[PredictionRow]) -> None:
        """Store ``rows`` in one transaction."""
        records = self._records(rows)
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT INTO predictions (request_id, item, ts, model, version, route, input_sha256, text_chars,"
                    " score, label, text, tokens, ngrams, features) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    records,
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def record_feedback(self, request_id: str, item: int, label: float) -> None:
        """Store the true label (class index) or value of an earlier prediction (the latest answer wins)."""
        with self._lock:
            self._db.execute(
                "INSERT INTO feedback (request_id, item, label, ts) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (request_id, item) DO UPDATE SET label = excluded.label, ts = excluded.ts",
                (request_id, item, label, time.time()),
            )

    def has_prediction(self, request_id: str, item: int) -> bool:
        """True if a served prediction with this request id and item is stored."""
        with self._lock:
            found = self._db.execute(
                "SELECT 1 FROM predictions WHERE request_id = ? AND item = ? AND route != 'shadow' LIMIT 1",
                (request_id, item),
            ).fetchone()
        return found is not None

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()


class PredictionLog:
    """Queues rows from requests and writes them to a sink from one background thread."""

    def __init__(
        self,
        sink: PredictionSink,
        *,
        flush_interval_s: float,
        max_pending: int,
        on_written: Callable[[int], None] = lambda n: None,
        on_error: Callable[[], None] = lambda: None,
        on_dropped: Callable[[int], None] = lambda n: None,
    ) -> None:
        self.sink = sink
        self._interval = flush_interval_s
        self._max_pending = max_pending
        self._queue: queue.SimpleQueue[PredictionRow | None] = queue.SimpleQueue()
        self._on_written, self._on_error, self._on_dropped = on_written, on_error, on_dropped
        self._thread = threading.Thread(target=self._run, name="trunkml-prediction-log", daemon=True)
        self._pending = 0
        self._settled = threading.Condition()
        self._thread.start()

    def add(self, rows: Sequence[PredictionRow]) -> None:
        """Queue ``rows`` for writing; never blocks and never raises (a full queue drops and counts)."""
        with self._settled:
            if self._pending + len(rows) > self._max_pending:
                self._on_dropped(len(rows))
                return
            self._pending += len(rows)
        for row in rows:
            self._queue.put(row)

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every queued row has been written (or given up on); False on timeout."""
        with self._settled:
            return self._settled.wait_for(lambda: self._pending == 0, timeout_s)

    def close(self, timeout_s: float = 10.0) -> None:
        """Write what is queued, stop the thread and close the sink."""
        self._queue.put(None)
        self._thread.join(timeout_s)
        self.sink.close()

    def _take(self) -> tuple[list[PredictionRow], bool]:
        """Block for the first row, then take what else is queued; True as second value means stop."""
        first = self._queue.get()
        if first is None:
            return [], True
        rows = [first]
        while len(rows) < 5000:
            try:
                row = self._queue.get_nowait()
            except queue.Empty:
                break
            if row is None:
                return rows, True
            rows.append(row)
        return rows, False

    def _write(self, rows: list[PredictionRow]) -> None:
        try:
            self._write_or_drop(rows)
        finally:
            with self._settled:
                self._pending -= len(rows)
                self._settled.notify_all()

    def _write_or_drop(self, rows: list[PredictionRow]) -> None:
        for attempt in range(RETRIES):
            try:
                self.sink.write(rows)
            except Exception:  # any sink failure: count it, retry, then drop (the answers were already given)
                self._on_error()
                time.sleep(0.05 * (attempt + 1))
                continue
            self._on_written(len(rows))
            return
        self._on_dropped(len(rows))

    def _run(self) -> None:
        stop = False
        while not stop:
            rows, stop = self._take()
            if rows:
                self._write(rows)
            if not stop:
                time.sleep(self._interval)
