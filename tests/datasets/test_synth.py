"""Synthetic demo data: deterministic, configurable, and clearly marked as demo data."""

from __future__ import annotations

import csv
import io

import pytest

from trunkml.demo.synthdata import ORIGIN, SynthSpec, generate_csv
from trunkml.errors import UsageError


def rows(spec: SynthSpec) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(generate_csv(spec).decode("utf-8"))))


def test_same_spec_same_bytes() -> None:
    assert generate_csv(SynthSpec(rows=300, seed=1)) == generate_csv(SynthSpec(rows=300, seed=1))
    assert generate_csv(SynthSpec(rows=300, seed=1)) != generate_csv(SynthSpec(rows=300, seed=2))


def test_every_row_is_marked_as_demo_data() -> None:
    data = rows(SynthSpec(rows=200))
    assert len(data) == 200
    assert {row["origin"] for row in data} == {ORIGIN}
    assert {row["label"] for row in data} == {"0", "1"}


def test_label_noise_is_configurable() -> None:
    clean = rows(SynthSpec(rows=2000, seed=5, label_noise=0.0))
    noisy = rows(SynthSpec(rows=2000, seed=5, label_noise=0.3))
    flipped = sum(a["label"] != b["label"] for a, b in zip(clean, noisy, strict=True))
    assert 0.2 * 2000 < flipped < 0.4 * 2000


def test_positive_share_is_respected() -> None:
    data = rows(SynthSpec(rows=4000, positive_share=0.4, label_noise=0.0))
    share = sum(row["label"] == "1" for row in data) / len(data)
    assert share == pytest.approx(0.4, abs=0.03)


def test_uri_round_trip_and_bad_uris() -> None:
    spec = SynthSpec(rows=50, seed=9, label_noise=0.1)
    assert SynthSpec.from_uri(spec.to_uri()) == spec
    with pytest.raises(UsageError, match="bad synthetic data uri"):
        SynthSpec.from_uri("synth:demo?rows=-1")
    with pytest.raises(UsageError, match="generator v99 is not available"):
        SynthSpec.from_uri("synth:demo?generator=99")
