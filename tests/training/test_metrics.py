"""Metrics are for the positive (hate) class, never weighted averages that equal accuracy."""

from __future__ import annotations

import pytest

from trunkml.training.metrics import binary_metrics


def test_positive_class_metrics() -> None:
    y_true = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    y_pred = [1, 1, 0, 0, 1, 0, 0, 0, 0, 0]
    m = binary_metrics(y_true, y_pred, [0.9, 0.8, 0.4, 0.3, 0.7, 0.2, 0.1, 0.1, 0.1, 0.1])
    assert m["recall"] == pytest.approx(0.5)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert m["accuracy"] == pytest.approx(0.7)
    assert m["specificity"] == pytest.approx(5 / 6)
    assert m["support_positive"] == 4
    assert m["recall"] != m["accuracy"]
    assert 0 < m["average_precision"] <= 1


def test_no_positive_predictions_is_zero_not_an_error() -> None:
    m = binary_metrics([1, 0], [0, 0])
    assert m["precision"] == 0.0
    assert m["recall"] == 0.0
