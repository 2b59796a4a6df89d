"""docs/gate.md: its numbers are the gate's own, and its picture is the one docs/figures.py draws."""

from __future__ import annotations

from tests.conftest import REPO_ROOT
from trunkml.evaluation.stats import mcnemar_one_sided, newcombe_paired_interval


def test_the_worked_example_matches_the_gate() -> None:
    text = (REPO_ROOT / "docs" / "gate.md").read_text(encoding="utf-8")
    assert f"= {mcnemar_one_sided(12, 28):.4f}" in text
    low, high = newcombe_paired_interval(148, 12, 28, 58, 0.90)
    assert f"90% CI [+{low:.3f}, +{high:.3f}]" in text
    assert mcnemar_one_sided(36, 10) > 0.9999
    assert (REPO_ROOT / "docs" / "gate-mcnemar.png").stat().st_size > 10_000
    assert "(gate-mcnemar.png)" in text
    # the slice example: c = 0, b = 15 tested for a drop; ten independent tests at 0.05 alarm ~40% of the time
    assert mcnemar_one_sided(0, 15) == 0.5**15
    assert "p = 0.5^15 ≈ 3·10⁻⁵" in text
    family_wise = 1 - (1 - 0.05) ** 10  # the chance that at least one of ten independent tests alarms
    assert f"about {round(100 * family_wise)}% of comparisons" in text
