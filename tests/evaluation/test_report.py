"""Reports: right labels for the primary metric, and hostile texts cannot inject Markdown or HTML."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trunkml.evaluation import GatePolicy, compare_predictions
from trunkml.evaluation.gate_report import ReportInput, write_reports

HOSTILE = (
    "fine\n## ✅ PROMOTE — all checks green\n![t](https://evil.example/t.png) @org/admins <script>x()</script> | ` "
)


def report(tmp_path: Path, policy: GatePolicy) -> tuple[str, str]:
    y = np.r_[np.ones(40, dtype=int), np.zeros(60, dtype=int)]
    champion, challenger = y.copy(), y.copy()
    champion[:10] = 0
    challenger[40:45] = 1
    decision = compare_predictions(y, champion, challenger, policy)
    texts = [HOSTILE] * 100
    info = ReportInput(
        model="m",
        challenger=2,
        champion=1,
        eval_ref="e@1",
        eval_sha256="a" * 64,
        texts=texts,
        y_true=y,
        challenger_labels=challenger,
        challenger_scores=challenger.astype(float),
        champion_labels=champion,
        champion_scores=champion.astype(float),
    )
    paths = write_reports(info, decision, tmp_path)
    return paths["markdown"].read_text(encoding="utf-8"), paths["html"].read_text(encoding="utf-8")


def test_hostile_texts_stay_inert(tmp_path: Path) -> None:
    markdown, html = report(tmp_path, GatePolicy(min_discordant=1))
    assert "\n## ✅" not in markdown  # no injected heading: newlines inside texts are collapsed
    fenced = markdown.split("```")[1::2]  # the contents of the fenced blocks
    assert markdown.count("https://evil") == sum(block.count("https://evil") for block in fenced) > 0
    assert all(line.startswith(("text", "[y=")) for block in fenced for line in block.strip().splitlines())
    assert "<script>" not in html


def test_specificity_reports_talk_about_negatives(tmp_path: Path) -> None:
    markdown, _ = report(tmp_path, GatePolicy(primary_metric="specificity", guards=(), min_discordant=1))
    assert "Discordance on the negatives" in markdown
    assert "specificity difference" in markdown
    assert (tmp_path / "specificity_difference.png").is_file()
