"""Draw the pictures in docs/ (deterministic): `python docs/figures.py`."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from scipy.stats import binom

from trunkml.evaluation.stats import mcnemar_one_sided

HERE = Path(__file__).resolve().parent
B, C, ALPHA = 12, 28, 0.05  # the worked example in gate.md


def gate_figure(path: Path) -> None:
    n = B + C
    p_value = mcnemar_one_sided(B, C)
    critical = next(k for k in range(n + 1) if mcnemar_one_sided(n - k, k) < ALPHA)
    figure, (table, tail) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1, 1.6]})
    cells = [["both right\n148", f"champion only\nb = {B}"], [f"challenger only\nc = {C}", "both wrong\n58"]]
    colours = [["#e8e8e8", "#f4a582"], ["#92c5de", "#e8e8e8"]]
    for row in range(2):
        for col in range(2):
            table.add_patch(plt.Rectangle((col, 1 - row), 1, 1, facecolor=colours[row][col], edgecolor="white", lw=3))
            table.text(col + 0.5, 1.5 - row, cells[row][col], ha="center", va="center", fontsize=11)
    table.set_xlim(0, 2)
    table.set_ylim(0, 2)
    table.set_xticks([0.5, 1.5], ["challenger right", "challenger wrong"])
    table.set_yticks([1.5, 0.5], ["champion\nright", "champion\nwrong"])
    table.tick_params(length=0)
    table.set_title("246 hateful texts of the frozen eval set,\neach judged by both models", fontsize=11)
    for side in table.spines.values():
        side.set_visible(False)
    ks = range(n + 1)
    heights = [binom.pmf(k, n, 0.5) for k in ks]
    tail.bar(ks, heights, color=["#2166ac" if k >= C else "#bbbbbb" for k in ks], width=0.85)
    tail.axvline(critical - 0.5, color="#b2182b", ls="--", lw=1)
    tail.text(critical - 0.3, max(heights) * 0.95, f"c ≥ {critical}: p < {ALPHA}", color="#b2182b", fontsize=10)
    label = f"observed c = {C}\np = P(X ≥ {C}) = {p_value:.4f}"
    tail.annotate(label, xy=(C, heights[C]), xytext=(C + 2, max(heights) * 0.55), arrowprops={"arrowstyle": "->"},
                  fontsize=10)  # fmt: skip
    tail.set_xlabel(f"c, the challenger-only wins among the b + c = {n} discordant texts")
    tail.set_ylabel("probability if the two models were equally good")
    tail.set_title("Exact one-sided McNemar: X ~ Binomial(b + c, 1/2)", fontsize=11)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


if __name__ == "__main__":
    gate_figure(HERE / "gate-mcnemar.png")
    print(f"p = {mcnemar_one_sided(B, C):.6f} for b={B}, c={C}; wrote {HERE / 'gate-mcnemar.png'}")
