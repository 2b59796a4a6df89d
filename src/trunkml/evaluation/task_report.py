"""Gate reports for multi-class and regression decisions: Markdown and a self-contained HTML page.

Both show the verdict and reasons, the test, the metrics side by side, and every guard. The
pictures are both models' confusion matrices with the class names (multi-class), or both
models' predictions against the truth and the challenger's residuals (regression). With no
champion, the "champion" column is the trivial baseline the challenger had to beat.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure

from trunkml.evaluation.gate_report import (
    ReportInput,
    html_document,
    html_figure,
    html_table,
    html_verdict,
    md_table,
    png_bytes,
)
from trunkml.evaluation.results import GateDecision
from trunkml.training.plots import confusion_figure, regression_figures

SHOWN = {
    "multiclass": ("accuracy", "macro_recall", "macro_precision", "macro_f1"),
    "regression": ("mae", "rmse", "r2", "bias"),
}


def _title(info: ReportInput, decision: GateDecision) -> str:
    against = f"v{info.champion}" if info.champion is not None else "the trivial baseline"
    verdict = "PROMOTE" if decision.promote else "REJECT"
    return f"{info.model}: v{info.challenger} vs {against} ({decision.task}): {verdict}"


def metric_rows(decision: GateDecision, classes: Sequence[str]) -> list[list[str]]:
    """Champion (or baseline) and challenger per metric, then per class recall for multi-class."""
    old, new = decision.champion_metrics or {}, decision.challenger_metrics
    names = list(SHOWN[decision.task])
    if decision.task == "multiclass":
        names += [f"recall.{index}" for index in range(len(classes))]
    rows = []
    for name in names:
        if name not in new:
            continue
        label = f"recall of {classes[int(name.split('.')[1])]}" if name.startswith("recall.") else name
        before, after = old.get(name), new[name]
        change = f"{after - before:+.4g}" if before is not None else ""
        rows.append([label, f"{before:.4g}" if before is not None else "", f"{after:.4g}", change])
    return rows


def _header(info: ReportInput) -> list[str]:
    return ["metric", "champion" if info.champion is not None else "baseline", "challenger", "change"]


def guard_rows(decision: GateDecision) -> list[list[str]]:
    return [
        [g.metric, f"{g.challenger:.4g}", f"{g.threshold:.4g}", "holds" if g.ok else "FAILS"] for g in decision.guards
    ]


def task_figures(info: ReportInput, decision: GateDecision, classes: Sequence[str]) -> dict[str, Figure]:
    """Confusion matrices (multi-class) or predicted-vs-true plots (regression) of both models."""
    who = {f"challenger v{info.challenger}": info.challenger_labels}
    if info.champion_labels is not None:
        who[f"champion v{info.champion}" if info.champion is not None else "trivial baseline"] = info.champion_labels
    if decision.task == "multiclass":
        return {
            f"confusion {name}": confusion_figure(info.y_true, labels, name, classes) for name, labels in who.items()
        }
    drawn: dict[str, Figure] = {}
    for name, predictions in who.items():
        pictures = regression_figures(info.y_true, predictions, name)
        drawn[f"predicted vs true {name}"] = pictures["predicted_vs_true"]
        if name.startswith("challenger"):
            drawn[f"residuals {name}"] = pictures["residuals"]
    return drawn


def task_markdown(info: ReportInput, decision: GateDecision, images: dict[str, str], classes: Sequence[str]) -> str:
    lines = [
        f"# {_title(info, decision)}",
        "",
        *(f"- {reason}" for reason in decision.reasons),
        "",
        f"Evaluation set `{info.eval_ref}` (sha256 `{info.eval_sha256[:12]}`), {decision.n} rows. "
        f"Test: {decision.test}, p = {decision.p_value:.4g}, alpha = {decision.alpha}. "
        f"Policy digest `{decision.policy_digest[:12]}`.",
        "",
        "## Metrics",
        md_table(_header(info), metric_rows(decision, classes)),
        "",
        "## Checks",
        md_table(["check", "challenger", "limit", "result"], guard_rows(decision)),
        "",
        *(f"![{caption}]({name})" for caption, name in images.items()),
    ]
    return "\n".join(lines) + "\n"


def task_html(info: ReportInput, decision: GateDecision, pngs: dict[str, bytes], classes: Sequence[str]) -> str:
    sections = [
        *html_verdict(_title(info, decision), info, decision, f"test: {decision.test}, p = {decision.p_value:.4g}"),
        "<h2>Metrics</h2>",
        html_table(_header(info), metric_rows(decision, classes)),
        "<h2>Checks</h2>",
        html_table(["check", "challenger", "limit", "result"], guard_rows(decision)),
        *(html_figure(caption, data) for caption, data in pngs.items()),
    ]
    return html_document(_title(info, decision), sections)


def write_task_reports(
    info: ReportInput, decision: GateDecision, folder: Path, classes: Sequence[str]
) -> dict[str, Path]:
    """Write ``gate.md`` (+ PNGs beside it) and ``gate.html`` into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    pngs = {caption: png_bytes(figure) for caption, figure in task_figures(info, decision, classes).items()}
    names = {}
    for caption, data in pngs.items():
        name = caption.replace(" ", "_") + ".png"
        (folder / name).write_bytes(data)
        names[caption] = name
    (folder / "gate.md").write_text(task_markdown(info, decision, names, classes), encoding="utf-8")
    (folder / "gate.html").write_text(task_html(info, decision, pngs, classes), encoding="utf-8")
    return {"markdown": folder / "gate.md", "html": folder / "gate.html"}
