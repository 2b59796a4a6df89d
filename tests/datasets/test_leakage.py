"""Leakage: the same text up to case, accents, links and mentions counts as overlap."""

from __future__ import annotations

import pandas as pd
import pytest

from trunkml.datasets.leakage import find_leakage, normalize_text


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Odeio ISTO!!", "odeio isto"),
        ("ação", "acao"),
        ("RT @fulano: que vergonha http://t.co/abc", "que vergonha https://t.co/xyz"),
        ("olá   mundo", "ola mundo"),
    ],
)
def test_trivial_differences_normalise_away(a: str, b: str) -> None:
    assert normalize_text(a) == normalize_text(b)


def test_different_texts_stay_different() -> None:
    assert normalize_text("odeio isto") != normalize_text("adoro isto")


def rows(texts: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"text": texts})


def test_any_overlap_is_refused_by_default() -> None:
    report = find_leakage(
        rows(["Odeio isto", "a"]), rows(["odeio isto!", "b", "c"]), train="t", eval="e", allowance=0.0
    )
    assert report.overlapping_rows == 1
    assert report.share == pytest.approx(1 / 3)
    assert not report.ok
    assert report.examples == ["odeio isto!"]


def test_overlap_within_the_allowance_passes() -> None:
    report = find_leakage(rows(["a"]), rows(["a", "b", "c", "d"]), train="t", eval="e", allowance=0.25)
    assert report.ok
    assert not find_leakage(rows(["a", "b"]), rows(["a", "b", "c", "d"]), train="t", eval="e", allowance=0.25).ok


def test_no_overlap_is_ok() -> None:
    assert find_leakage(rows(["a"]), rows(["b"]), train="t", eval="e", allowance=0.0).ok


def test_tabular_rows_overlap_by_all_their_values() -> None:
    train = pd.DataFrame({"age": [30.0, 41.0], "plan": ["basic", "pro"], "note": ["Olá!", "x"]})
    held = pd.DataFrame({"age": [30.0, 30.0, 41.0], "plan": ["basic", "pro", "pro"], "note": ["olá", "olá", "y"]})
    report = find_leakage(train, held, train="t", eval="e", allowance=0.0)
    assert report.overlapping_rows == 1  # same age, plan and (normalised) note; the others differ in one value
    assert report.examples == ["age=30.0, plan=basic, note=olá"]
