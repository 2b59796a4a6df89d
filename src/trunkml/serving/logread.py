"""Reading the prediction log back, read-only: the windows, feedback joins and shadow pairs the monitor needs.

The reader never writes and never holds a write lock, so it is safe beside running servers.
Request ids come from clients and may be reused: a request is one (request id, time) group of
rows (a request's rows are written together, with one time), and feedback labels the most
recent prediction of its request id and item made before the feedback arrived.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import numpy as np
import pandas as pd

from trunkml.config.windows import Window
from trunkml.errors import NotFoundError, UnavailableError

MAX_ROWS = 500_000
Param = str | int | float
FEATURES = ("tokens", "ngrams", "features")
# Column names below are constants of this module, never user input (hence the S608 waivers).
SERVED = "SELECT id, request_id, item, ts, version, route, text_chars, score, label, {features} FROM predictions"
SINCE = SERVED + " WHERE model = ? AND route != 'shadow' AND ts >= ? ORDER BY ts DESC, id DESC LIMIT ?"
FROM_ID = SERVED + " WHERE model = ? AND route != 'shadow' AND id >= ? ORDER BY id DESC LIMIT ?"
FIRST_OF_LAST_REQUESTS = (
    "SELECT MIN(first) FROM (SELECT MIN(id) AS first, MAX(id) AS last FROM ("
    "  SELECT id, request_id, ts FROM predictions WHERE model = ? AND route != 'shadow' ORDER BY id DESC LIMIT ?"
    ") GROUP BY request_id, ts ORDER BY last DESC LIMIT ?)"
)
LABELLED = (
    "SELECT id, request_id, item, ts, version, route, score, label, truth, feedback_ts FROM ("
    " SELECT p.id, p.request_id, p.item, p.ts, p.version, p.route, p.score, p.label, f.label AS truth,"
    "  f.ts AS feedback_ts, ROW_NUMBER() OVER (PARTITION BY p.request_id, p.item, p.route ORDER BY p.id DESC) AS n"
    " FROM predictions p JOIN feedback f ON f.request_id = p.request_id AND f.item = p.item AND f.ts >= p.ts"
    " WHERE p.model = ? AND p.ts >= ?"
    ") WHERE n = 1 ORDER BY id"
)
SHADOW_PAIRS = (
    "SELECT request_id, item, champion, shadow, truth, feedback_ts FROM ("
    " SELECT s.request_id, s.item, c.label AS champion, s.label AS shadow, f.label AS truth, f.ts AS feedback_ts,"
    "  s.id AS sid, ROW_NUMBER() OVER (PARTITION BY s.request_id, s.item ORDER BY s.id DESC) AS n"
    " FROM predictions s"
    " JOIN predictions c ON c.id = (SELECT MAX(id) FROM predictions WHERE request_id = s.request_id"
    "  AND item = s.item AND route = 'champion' AND id < s.id)"
    " JOIN feedback f ON f.request_id = s.request_id AND f.item = s.item AND f.ts >= c.ts"
    " WHERE s.model = ? AND s.route = 'shadow' AND s.version = ? AND c.version = ?"
    ") WHERE n = 1 ORDER BY feedback_ts, sid"
)
LATEST_SHADOW = "SELECT version FROM predictions WHERE model = ? AND route = 'shadow' ORDER BY id DESC LIMIT 1"


class LogReader:
    """A read-only view of one endpoint's SQLite prediction log."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise NotFoundError(
                f"prediction log not found: {path}",
                hint="start `trunkml serve` for this endpoint (it creates the log) or pass the endpoint it writes",
            )
        self.path = path
        try:
            self._db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
            present = {row[1] for row in self._db.execute("PRAGMA table_info(predictions)")}
        except sqlite3.Error as exc:
            raise UnavailableError(f"prediction log {path} cannot be read: {exc}") from exc
        if not present:
            raise UnavailableError(f"{path} is not a trunkml prediction log (no predictions table)")
        # A log written by an older server has no feature columns until a newer server opens it.
        self._features = ", ".join(name if name in present else f"NULL AS {name}" for name in FEATURES)

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def _frame(self, sql: str, params: tuple[Param, ...]) -> pd.DataFrame:
        try:
            return pd.read_sql_query(sql, self._db, params=params)
        except (sqlite3.Error, pd.errors.DatabaseError) as exc:
            raise UnavailableError(f"prediction log {self.path} cannot be read: {str(exc).splitlines()[-1]}") from exc

    def _scalar(self, sql: str, params: tuple[Param, ...]) -> object:
        try:
            row = self._db.execute(sql, params).fetchone()
        except sqlite3.Error as exc:
            raise UnavailableError(f"prediction log {self.path} cannot be read: {exc}") from exc
        return None if row is None else row[0]

    def served(self, model: str, window: Window, now: float | None = None) -> pd.DataFrame:
        """Served (champion and canary) rows of ``model`` in ``window``, oldest first (at most MAX_ROWS)."""
        if window.kind == "time":
            since = (now or time.time()) - float(window.seconds or 0)
            frame = self._frame(SINCE.format(features=self._features), (model, since, MAX_ROWS))
        else:
            first = self._scalar(FIRST_OF_LAST_REQUESTS, (model, MAX_ROWS, int(window.requests or 0)))
            query = FROM_ID.format(features=self._features)
            frame = self._frame(query, (model, int(first) if isinstance(first, int) else 2**62, MAX_ROWS))
        return frame.sort_values("id").reset_index(drop=True)

    def labelled(self, model: str, since: float) -> pd.DataFrame:
        """Rows of ``model`` predicted from time ``since`` on (shadow rows too) that received feedback, as ``truth``."""
        return self._frame(LABELLED, (model, since))

    def latest_shadow(self, model: str) -> int | None:
        """The version of the most recent shadow row, if any."""
        found = self._scalar(LATEST_SHADOW, (model,))
        return int(found) if isinstance(found, int) else None

    def shadow_pairs(self, model: str, champion: int, shadow: int) -> pd.DataFrame:
        """Labelled texts answered by ``champion`` (served) and shadowed by ``shadow``, in labelling order."""
        return self._frame(SHADOW_PAIRS, (model, shadow, champion))


def concat_blobs(blobs: pd.Series, dtype: str) -> np.ndarray:
    """Join per-row feature blobs (little-endian arrays) into one array, skipping rows without features."""
    parts = [np.frombuffer(blob, dtype=dtype) for blob in blobs if blob is not None]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
