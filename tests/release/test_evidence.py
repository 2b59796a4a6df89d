"""The reviewer's view: slices and explanations in the gate report; approving needs the evidence; `explain`."""

from __future__ import annotations

import math
from pathlib import Path

from tests.conftest import Project
from tests.evaluation.test_evaluate import gate_project  # noqa: F401 - fixture reuse
from tests.training.conftest import ml_project  # noqa: F401 - fixture reuse


def test_the_report_has_slices_and_approval_waits_for_every_piece_of_evidence(gate_project: Project) -> None:  # noqa: F811
    sliced = gate_project.cli("data", "slices", "demo-eval", "--length-buckets", "8,14", "--json")
    assert sliced.code == 0, sliced.stderr
    assert list(sliced.json()["sizes"]) == ["words <8", "words 8-13", "words >=14"]

    reviewer = str(gate_project.signer("reviewer"))
    no_decision = gate_project.cli("approve", "1", "--key", reviewer)
    assert no_decision.code == 1
    assert "no gate decision" in no_decision.stderr
    assert "has none; run `trunkml infra-validate 1`" in no_decision.stderr

    cold = gate_project.cli("evaluate", "--json").json()
    assert [s["name"] for s in cold["decision"]["slices"]] == ["words <8", "words 8-13", "words >=14"]
    assert all(s["champion_recall"] is None and s["challenger_recall"]["n"] > 0 for s in cold["decision"]["slices"])
    markdown = Path(cold["reports"]["markdown"]).read_text(encoding="utf-8")
    assert "### Slices" in markdown
    assert "cold start: reported only" in markdown
    assert (Path(cold["reports"]["markdown"]).parent / "recall_per_slice.png").stat().st_size > 5000

    waiting = gate_project.cli("approve", "1", "--key", reviewer)
    assert waiting.code == 1
    assert "infra validation: demo-model/1 has none" in waiting.stderr
    assert "no gate decision" not in waiting.stderr
    assert gate_project.cli("approvals", "list", "1", "--json").json() == []

    assert gate_project.cli("infra-validate", "1").code == 0
    shown = gate_project.cli("approve", "1", "--key", reviewer)
    assert shown.code == 0, shown.stderr
    for evidence in ("gate decision PROMOTE", "infra validation passed", "recall per slice", "words 8-13",
                     "report: runs:/", "approved demo-model/1"):  # fmt: skip
        assert evidence in shown.stdout, (evidence, shown.stdout)
    again = gate_project.cli("approve", "1", "--key", str(gate_project.signer("second")), "--json").json()
    assert again["approvals"][0]["statement"]["approver"] == "second"
    assert again["evidence"]["infra"]["passed"] is True
    assert again["evidence"]["report"].endswith("trunkml/reports/vs-none/gate.html")

    cd = gate_project.cli("pipeline", "model-cd", "1", "--by", "ci-bot", "--json")
    assert cd.code == 0, cd.stderr
    steps = [(step["name"], step["status"]) for step in cd.json()["steps"]]
    assert [name for name, _ in steps] == ["resolve 1", "dev: gate", "dev: infra validation", "dev: approvals",
                                           "dev: promote v1"]  # fmt: skip
    assert cd.json()["steps"][2]["detail"].startswith("passed earlier")


def test_a_paired_report_explains_the_disagreements_and_the_misses_per_slice(gate_project: Project) -> None:  # noqa: F811
    assert gate_project.cli("data", "slices", "demo-eval", "--length-buckets", "10").code == 0
    assert gate_project.cli("train", "demo-model", "--param", "C=0.3").code == 0
    paired = gate_project.cli("evaluate", "--champion", "1", "--json")
    assert paired.code == 0, paired.stderr
    result = paired.json()
    markdown = Path(result["reports"]["markdown"]).read_text(encoding="utf-8")
    assert "### Examples: only the champion is right" in markdown or "only the challenger is right" in markdown
    assert "why (challenger v2): toward hate:" in markdown
    assert "why (champion v1): toward hate:" in markdown
    assert "missed by the challenger in slice 'words" in markdown
    assert "Explanations: linear: tf-idf value x coefficient" in markdown
    html = Path(result["reports"]["html"]).read_text(encoding="utf-8")
    assert "why (challenger v2)" in html
    assert "<h2>Slices</h2>" in html


def test_explain_shows_exact_contributions_from_the_cli(gate_project: Project) -> None:  # noqa: F811
    explained = gate_project.cli("explain", "1", "os zorbanos são uma praga", "bom dia", "--top", "3", "--json")
    assert explained.code == 0, explained.stderr
    document = explained.json()
    assert document["version"] == 1
    for item in document["explanations"]:
        assert item["exact"] is True
        assert item["output"] == "logit"
        assert len(item["toward"]) <= 3
        assert len(item["against"]) <= 3
        assert abs(1 / (1 + math.exp(-item["value"])) - item["score"]) < 1e-6  # the logit behind the served score
    plain = gate_project.cli("explain", "1", "os zorbanos são uma praga")
    assert "toward hate" in plain.stdout
    assert "logit" in plain.stdout
    assert gate_project.cli("explain", "1").code == 2
    assert gate_project.cli("explain", "1", "x", "--top", "0").code == 2
    assert gate_project.cli("explain", "9", "x").code == 2  # no such version
