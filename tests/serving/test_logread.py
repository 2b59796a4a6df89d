"""The prediction log's monitoring features and the read-only windows the monitor takes from it."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import numpy as np

from trunkml.config.windows import Window
from trunkml.datasets.profile import ngram_buckets, token_hashes
from trunkml.serving.logread import LogReader, concat_blobs
from trunkml.serving.predlog import PredictionRow, SqliteSink

OLD_SCHEMA = """
CREATE TABLE predictions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL, item INTEGER NOT NULL, ts REAL NOT NULL,
    model TEXT NOT NULL, version INTEGER NOT NULL, route TEXT NOT NULL, input_sha256 TEXT NOT NULL,
    text_chars INTEGER NOT NULL, score REAL NOT NULL, label INTEGER NOT NULL, text TEXT
);
CREATE TABLE feedback (request_id TEXT NOT NULL, item INTEGER NOT NULL, label INTEGER NOT NULL, ts REAL NOT NULL,
    PRIMARY KEY (request_id, item));
INSERT INTO predictions (request_id, item, ts, model, version, route, input_sha256, text_chars, score, label, text)
VALUES ('old', 0, 1.0, 'm', 1, 'champion', 'x', 3, 0.5, 1, NULL);
"""


def row(
    rid: str, item: int, text: str, route: str = "champion", version: int = 1, ts: float | None = None
) -> PredictionRow:
    return PredictionRow(rid, item, ts or time.time(), "m", version, route, 0.25, 0, text)


def test_features_are_stored_and_text_only_when_asked(tmp_path: Path) -> None:
    sink = SqliteSink(tmp_path / "log.db")
    sink.write([row("a", 0, "Olá mundo cruel"), row("a", 0, "Olá mundo cruel", route="shadow", version=2)])
    sink.close()
    with sqlite3.connect(tmp_path / "log.db") as db:
        stored = db.execute("SELECT route, text, text_chars, tokens, ngrams FROM predictions ORDER BY id").fetchall()
    served, shadow = stored
    assert served[1] is None
    assert served[2] == 15
    assert np.frombuffer(served[3], "<u4").tolist() == token_hashes("Olá mundo cruel").tolist()
    assert np.frombuffer(served[4], "<u2").tolist() == ngram_buckets(["Olá mundo cruel"])[0].tolist()
    assert shadow[3] is None
    assert shadow[4] is None
    keeping = SqliteSink(tmp_path / "kept.db", store_text=True, features=False)
    keeping.write([row("b", 0, "texto")])
    keeping.close()
    with sqlite3.connect(tmp_path / "kept.db") as db:
        assert db.execute("SELECT text, tokens FROM predictions").fetchone() == ("texto", None)


def test_an_older_log_gains_the_feature_columns_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
    sink = SqliteSink(path)
    sink.write([row("new", 0, "um texto novo")])
    sink.close()
    reader = LogReader(path)
    served = reader.served("m", Window.parse("10"))
    reader.close()
    assert served["request_id"].tolist() == ["old", "new"]
    assert served["tokens"].iloc[0] is None
    assert concat_blobs(served["tokens"], "<u4").size == 3


def test_windows_by_requests_and_by_time(tmp_path: Path) -> None:
    sink = SqliteSink(tmp_path / "log.db")
    now = time.time()
    sink.write([row(f"r{i}", item, "texto", ts=now - 7200 + i) for i in range(3) for item in range(2)])
    sink.write([row(f"s{i}", 0, "texto", ts=now - 60 + i) for i in range(4)])
    sink.write([row("s0", 0, "texto", route="shadow", version=2, ts=now)])
    sink.record_feedback("s1", 0, 1)
    sink.record_feedback("r0", 1, 0)
    sink.close()
    reader = LogReader(tmp_path / "log.db")
    last = reader.served("m", Window.parse("5 requests"))
    assert last["request_id"].tolist() == ["r2", "r2", "s0", "s1", "s2", "s3"]
    hour = reader.served("m", Window.parse("1h"), now=now)
    assert hour["request_id"].tolist() == ["s0", "s1", "s2", "s3"]
    assert reader.labelled("m", now - 3600)["request_id"].tolist() == ["s1"]
    assert reader.labelled("m", 0)[["request_id", "item", "truth"]].values.tolist() == [["r0", 1, 0], ["s1", 0, 1]]
    assert reader.latest_shadow("m") == 2
    pairs = reader.shadow_pairs("m", champion=1, shadow=2)
    assert pairs.empty  # s0 was shadowed but has no feedback
    reader.close()


def test_a_reused_request_id_is_two_requests_and_feedback_labels_the_latest(tmp_path: Path) -> None:
    sink = SqliteSink(tmp_path / "log.db")
    now = time.time()
    sink.write([row("dup", 0, "antigo", ts=now - 10_000), row("dup", 1, "antigo", ts=now - 10_000)])
    sink.write([row(f"x{i}", 0, "texto", ts=now - 100 + i) for i in range(3)])
    sink.write([row("dup", 0, "novo", ts=now - 1)])
    sink.write([row("dup", 0, "novo", route="shadow", version=2, ts=now - 0.5)])
    sink.record_feedback("dup", 0, 1)
    sink.close()
    reader = LogReader(tmp_path / "log.db")
    last = reader.served("m", Window.parse("2"))
    assert last["request_id"].tolist() == ["x2", "dup"]
    assert last["text_chars"].tolist() == [5, 4]
    labelled = reader.labelled("m", 0)
    assert labelled[["route", "ts"]].values.tolist() == [["champion", now - 1], ["shadow", now - 0.5]]
    pairs = reader.shadow_pairs("m", champion=1, shadow=2)
    assert pairs[["request_id", "truth"]].values.tolist() == [["dup", 1]]
    reader.close()


def test_a_log_no_newer_server_has_opened_is_read_without_features(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
    reader = LogReader(path)
    served = reader.served("m", Window.parse("1h"), now=3000.0)
    reader.close()
    assert served["request_id"].tolist() == ["old"]
    assert served["tokens"].isna().all()
