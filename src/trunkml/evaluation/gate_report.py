"""Gate reports: Markdown (for a CI job summary or PR comment) and a self-contained HTML page.

Both show the verdict and reasons, the metrics side by side, the discordance table on
the positives, the test and its confidence interval, every guard, and a sample of the
examples the two models disagree on. The HTML page embeds its pictures: both confusion
matrices, both PR curves and the confidence interval of the recall difference.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import NDArray

from trunkml.config.classes import DEFAULT_CLASS_NAMES
from trunkml.evaluation.results import GateDecision
from trunkml.evaluation.slice_checks import Interval, SliceResult
from trunkml.registry.explain import Contribution, Explanation
from trunkml.training.plots import confusion_figure, pr_figure

SHOWN_METRICS = ("recall", "precision", "f1", "specificity", "accuracy", "macro_f1")
EXAMPLES = 5
SLICE_EXAMPLES = 3
EXPLAINED_FEATURES = 5
PAGE_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.3em .6em}"
    "figure{display:inline-block;margin:.5em}img{max-width:460px}"
)


@dataclass(frozen=True)
class ReportInput:
    """Everything a report shows besides the decision itself."""

    model: str
    challenger: int
    champion: int | None
    eval_ref: str
    eval_sha256: str
    texts: list[str]
    y_true: NDArray[Any]
    """Classes (0/1, or 0..K-1), or a regression target's values."""
    challenger_labels: NDArray[Any]
    """Predicted classes, or a regression model's predictions."""
    challenger_scores: NDArray[np.float64]
    champion_labels: NDArray[Any] | None
    champion_scores: NDArray[np.float64] | None
    challenger_threshold: float | None = None
    champion_threshold: float | None = None
    slices: dict[str, NDArray[np.bool_]] = field(default_factory=dict)
    explanations: dict[int, dict[str, Explanation]] = field(default_factory=dict)
    """Row → role ("challenger v3") → explanation, for the example rows."""
    explanation_note: str = ""
    classes: tuple[str, str] = DEFAULT_CLASS_NAMES
    """The names of class 0 and class 1, from the eval pointer."""
    records: list[dict[str, Any]] | None = None
    """The model inputs of each row when they are not one text (what explanations are computed on)."""


def _title(info: ReportInput, decision: GateDecision) -> str:
    against = f"v{info.champion} (champion)" if info.champion is not None else "no champion (cold start)"
    verdict = "PROMOTE" if decision.promote else "REJECT"
    return f"{info.model} v{info.challenger} (challenger) vs {against}: {verdict}"


def _metric_rows(decision: GateDecision) -> list[list[str]]:
    rows = []
    for metric in SHOWN_METRICS:
        new = decision.challenger_metrics.get(metric)
        old = decision.champion_metrics.get(metric) if decision.champion_metrics else None
        delta = f"{(new - old) * 100:+.1f} pts" if new is not None and old is not None else ""
        rows.append([metric, f"{old:.3f}" if old is not None else "-", f"{new:.3f}" if new is not None else "-", delta])
    return rows


def _rows_name(decision: GateDecision) -> str:
    return "positives" if decision.primary_metric == "recall" else "negatives"


def _discordance(info: ReportInput, decision: GateDecision) -> list[list[str]] | None:
    """The 2x2 table on the rows the primary metric is about (positives for recall, negatives for specificity)."""
    if info.champion_labels is None:
        return None
    target = 1 if decision.primary_metric == "recall" else 0
    rows = info.y_true == target
    champ, chall = info.champion_labels[rows] == target, info.challenger_labels[rows] == target

    def count(champion_right: bool, challenger_right: bool) -> str:
        return str(int(np.sum((champ == champion_right) & (chall == challenger_right))))

    return [
        ["champion right", count(True, True) + " (a)", count(True, False) + " (b)"],
        ["champion wrong", count(False, True) + " (c)", count(False, False) + " (d)"],
    ]


def example_rows(info: ReportInput) -> dict[str, list[int]]:
    """Rows a reviewer should read: where the models disagree, and the challenger's misses in each slice."""
    found: dict[str, list[int]] = {}
    if info.champion_labels is not None:
        right_new = (info.challenger_labels == info.y_true) & (info.champion_labels != info.y_true)
        right_old = (info.champion_labels == info.y_true) & (info.challenger_labels != info.y_true)
        found["only the challenger is right"] = np.flatnonzero(right_new)[:EXAMPLES].tolist()
        found["only the champion is right"] = np.flatnonzero(right_old)[:EXAMPLES].tolist()
    missed = (info.y_true == 1) & (info.challenger_labels == 0)
    for name, mask in info.slices.items():
        rows = np.flatnonzero(missed & mask)[:SLICE_EXAMPLES].tolist()
        if rows:
            found[f"missed by the challenger in slice '{name}'"] = rows
    return found


def _why(explanation: Explanation, positive: str) -> str:
    def listed(items: list[Contribution]) -> str:
        return ", ".join(f"{c.feature} {c.weight:+.2f}" for c in items[:EXPLAINED_FEATURES]) or "-"

    return f"toward {positive}: {listed(explanation.toward)}; against: {listed(explanation.against)}"


def _examples(info: ReportInput) -> dict[str, list[str]]:
    """Each example as ``[y=label] text``, followed by the models' explanations where there are some."""
    result: dict[str, list[str]] = {}
    for caption, rows in example_rows(info).items():
        lines = []
        for row in rows:
            lines.append(f"[y={int(info.y_true[row])}] {info.texts[row][:200]}")
            for role, explanation in info.explanations.get(row, {}).items():
                lines.append(f"    why ({role}): {_why(explanation, info.classes[1])}")
        result[caption] = lines
    return result


SLICE_HEADER = [
    "slice", "rows", "positives", "champion recall", "challenger recall", "change (CI)",
    "champion precision", "challenger precision", "Holm p (drop)", "guard",
]  # fmt: skip


def _ci(interval: Interval | None) -> str:
    if interval is None or interval.value is None:
        return "-"
    return f"{interval.value:.3f} [{interval.low:.2f}, {interval.high:.2f}]"


def _slice_verdict(result: SliceResult, decision: GateDecision) -> str:
    if result.champion_recall is None:
        return "cold start: reported only"
    if not result.checked:
        return f"reported only (< {decision.policy.slice_guard.min_positives} positives)"
    return "FAILS" if result.flagged else "holds"


def slice_rows(decision: GateDecision) -> list[list[str]]:
    """One row per slice: sizes, both models' recall and precision with 95% CIs, the drop test, the verdict."""
    rows = []
    for r in decision.slices:
        change = "-"
        if r.recall_difference is not None:
            change = f"{r.recall_difference * 100:+.1f} pts"
            if r.difference_low is not None and r.difference_high is not None:
                change += f" [{r.difference_low * 100:+.1f}, {r.difference_high * 100:+.1f}]"
        rows.append([
            r.name, str(r.rows), str(r.positives), _ci(r.champion_recall), _ci(r.challenger_recall), change,
            _ci(r.champion_precision), _ci(r.challenger_precision),
            f"{r.p_holm:.3g}" if r.p_holm is not None else "-", _slice_verdict(r, decision),
        ])  # fmt: skip
    return rows


def md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _test_line(decision: GateDecision) -> str:
    p_value, diff = decision.p_value or 0.0, decision.difference or 0.0
    low, high, level = decision.ci_low or 0.0, decision.ci_high or 0.0, decision.ci_level or 0.0
    return (
        f"One-sided {decision.test} McNemar on the {_rows_name(decision)}: p = {p_value:.4g} (alpha "
        f"{decision.alpha}); {decision.primary_metric} difference {diff * 100:+.1f} pts, {level:.0%} CI "
        f"[{low * 100:+.1f}, {high * 100:+.1f}] pts ({decision.ci_method})."
    )


def _code_block(lines: list[str]) -> list[str]:
    """Example texts as a fenced block: no Markdown in them is rendered (headings, images, @mentions)."""
    safe = [" ".join(line.replace("`", "'").split()) for line in lines] or ["(none)"]
    return ["```text", *safe, "```"]


def markdown(info: ReportInput, decision: GateDecision, images: dict[str, str]) -> str:
    """The report as Markdown; ``images`` maps a caption to a PNG file name next to the report."""
    parts = [
        f"## {_title(info, decision)}",
        "",
        *[f"- {reason}" for reason in decision.reasons],
        "",
        f"Evaluation set: `{info.eval_ref}` (sha256 `{info.eval_sha256[:16]}…`), {decision.n} rows, "
        f"{decision.positives} positives. Policy digest `{decision.policy_digest[:12]}`.",
        "",
        "### Metrics",
        md_table(["metric", "champion", "challenger", "change"], _metric_rows(decision)),
    ]
    table = _discordance(info, decision)
    if table:
        parts += [
            "",
            f"### Discordance on the {_rows_name(decision)}",
            md_table(["", "challenger right", "challenger wrong"], table),
            "",
            _test_line(decision),
        ]
    parts += [
        "",
        "### Guards" if decision.mode == "paired" else "### Cold-start floors",
        md_table(
            ["metric", "challenger", "must be at least", "result"],
            [
                [g.metric, f"{g.challenger:.3f}", f"{g.threshold:.3f}", "holds" if g.ok else "FAILS"]
                for g in decision.guards
            ],
        ),
    ]
    if decision.slices:
        parts += [
            "",
            "### Slices",
            f"Recall and precision per slice of `{info.eval_ref}` (95% Wilson CIs; the change has the paired "
            f"{(decision.ci_level or 0.9):.0%} CI).",
            "",
            md_table(SLICE_HEADER, slice_rows(decision)),
        ]
    for caption, lines in _examples(info).items():
        parts += ["", f"### Examples: {caption}", *_code_block(lines)]
    if info.explanation_note:
        parts += ["", info.explanation_note]
    parts += ["", *[f"![{caption}]({name})" for caption, name in images.items()], ""]
    return "\n".join(parts)


def figures(info: ReportInput, decision: GateDecision) -> dict[str, Figure]:
    """Confusion matrices, PR curves and (paired) the CI of the recall difference."""
    result = {
        "challenger confusion matrix": confusion_figure(
            info.y_true, info.challenger_labels, f"challenger v{info.challenger}", info.classes
        )
    }
    curves = {f"challenger v{info.challenger}": (info.y_true, info.challenger_scores, info.challenger_threshold)}
    if info.champion_labels is not None and info.champion_scores is not None:
        result["champion confusion matrix"] = confusion_figure(
            info.y_true, info.champion_labels, f"champion v{info.champion}", info.classes
        )
        curves[f"champion v{info.champion}"] = (info.y_true, info.champion_scores, info.champion_threshold)
        result[f"{decision.primary_metric} difference"] = _ci_figure(decision)
    result["precision-recall curves"] = pr_figure(curves, "precision-recall on the eval set", info.classes[1])
    if decision.slices:
        result["recall per slice"] = slice_figure(decision)
    return result


def slice_figure(decision: GateDecision) -> Figure:
    """Recall per slice with 95% CIs, champion beside challenger; failing slices in red."""
    slices = decision.slices
    figure = Figure(figsize=(7.0, 0.45 * len(slices) + 1.4))
    axes = figure.subplots()
    for row, result in enumerate(reversed(slices)):
        pairs = [("champion", result.champion_recall, "tab:grey", 0.15), ("challenger", result.challenger_recall,
                 "tab:red" if result.flagged else "tab:blue", -0.15)]  # fmt: skip
        for label, interval, colour, offset in pairs:
            if interval is None or interval.value is None:
                continue
            low, high = interval.low or 0.0, interval.high or 0.0
            axes.plot([low, high], [row + offset] * 2, color=colour, linewidth=2)
            axes.plot([interval.value], [row + offset], "o", color=colour, label=label if row == 0 else None)
    axes.set_yticks(range(len(slices)))
    axes.set_yticklabels([f"{r.name} ({r.positives})" for r in reversed(slices)])
    axes.set_xlim(0, 1)
    axes.set_xlabel("recall (95% CI); in brackets: positives in the slice")
    axes.legend(loc="lower left", fontsize="small")
    figure.tight_layout()
    return figure


def _ci_figure(decision: GateDecision) -> Figure:
    figure = Figure(figsize=(5.0, 1.8))
    axes = figure.subplots()
    low, high, point = (decision.ci_low or 0) * 100, (decision.ci_high or 0) * 100, (decision.difference or 0) * 100
    colour = "tab:green" if decision.promote else "tab:red"
    axes.plot([low, high], [0, 0], color=colour, linewidth=6, solid_capstyle="butt")
    axes.plot([point], [0], "o", color="black")
    axes.axvline(0, color="grey", linestyle="--")
    axes.set_yticks([])
    axes.set_xlabel(f"challenger − champion {decision.primary_metric}, points ({decision.ci_level:.0%} CI)")
    span = max(abs(low), abs(high), 1.0) * 1.3
    axes.set_xlim(-span, span)
    figure.tight_layout()
    return figure


def png_bytes(figure: Figure) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def html_table(header: list[str], rows: list[list[str]]) -> str:
    """An escaped HTML table."""
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_document(title: str, sections: list[str]) -> str:
    """A self-contained HTML page (one style for every report) around ``sections``."""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{PAGE_STYLE}</style></head><body>{''.join(sections)}</body></html>"
    )


def html_figure(caption: str, png: bytes) -> str:
    """An embedded PNG with its caption."""
    source = base64.b64encode(png).decode()
    return (
        f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{source}'>"
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def html_verdict(title: str, info: ReportInput, decision: GateDecision, about: str) -> list[str]:
    """The page's head: the verdict in its colour, the reasons, and the evaluation set (rows, then ``about``)."""
    colour = "#1a7f37" if decision.promote else "#cf222e"
    return [
        f"<h1 style='color:{colour}'>{html.escape(title)}</h1>",
        "<ul>" + "".join(f"<li>{html.escape(r)}</li>" for r in decision.reasons) + "</ul>",
        f"<p>Evaluation set <code>{html.escape(info.eval_ref)}</code>, sha256 <code>{info.eval_sha256}</code>, "
        f"{decision.n} rows, {html.escape(about)}.</p>",
    ]


def html_page(info: ReportInput, decision: GateDecision, pngs: dict[str, bytes]) -> str:
    """The report as one HTML file with its pictures embedded."""
    sections = [
        *html_verdict(_title(info, decision), info, decision, f"{decision.positives} positives"),
        "<h2>Metrics</h2>",
        html_table(["metric", "champion", "challenger", "change"], _metric_rows(decision)),
    ]
    table = _discordance(info, decision)
    if table:
        sections += [
            f"<h2>Discordance on the {_rows_name(decision)}</h2>",
            html_table(["", "challenger right", "challenger wrong"], table),
        ]
    sections += [
        "<h2>Checks</h2>",
        html_table(
            ["metric", "challenger", "must be at least", "result"],
            [
                [g.metric, f"{g.challenger:.3f}", f"{g.threshold:.3f}", "holds" if g.ok else "FAILS"]
                for g in decision.guards
            ],
        ),
    ]
    if decision.slices:
        sections += ["<h2>Slices</h2>", html_table(SLICE_HEADER, slice_rows(decision))]
    sections += [html_figure(caption, data) for caption, data in pngs.items()]
    for caption, lines in _examples(info).items():
        sections += [
            f"<h2>Examples: {html.escape(caption)}</h2>",
            "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>",
        ]
    if info.explanation_note:
        sections.append(f"<p>{html.escape(info.explanation_note)}</p>")
    return html_document(_title(info, decision), sections)


def write_reports(info: ReportInput, decision: GateDecision, folder: Path) -> dict[str, Path]:
    """Write ``gate.md`` (+ PNGs beside it) and ``gate.html`` into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    pngs = {caption: png_bytes(figure) for caption, figure in figures(info, decision).items()}
    names = {}
    for caption, data in pngs.items():
        name = caption.replace(" ", "_").replace("−", "-") + ".png"
        (folder / name).write_bytes(data)
        names[caption] = name
    (folder / "gate.md").write_text(markdown(info, decision, names), encoding="utf-8")
    (folder / "gate.html").write_text(html_page(info, decision, pngs), encoding="utf-8")
    return {"markdown": folder / "gate.md", "html": folder / "gate.html"}
