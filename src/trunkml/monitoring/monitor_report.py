"""The monitoring report: one self-contained HTML page with the window's pictures.

It shows the verdict (which triggers fired), every drift statistic against its
threshold and noise level, the reference and window distributions side by side
(text length, score, and each feature of a tabular model, most drifted first), online
recall over time per version, and the shadow comparison's evidence as it accumulated.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from trunkml.datasets.profile import CategoricalProfile, NumericProfile
from trunkml.evaluation.gate_report import html_document, html_figure, html_table, png_bytes
from trunkml.monitoring.monitor import MonitorResult
from trunkml.monitoring.online import OnlineMetrics, online_text, recall_text

RED, GREEN, GREY, BLUE = "#cf222e", "#1a7f37", "#8c959f", "#0969da"
MAX_FEATURES = 12  # feature pictures per report
MAX_BARS = 12  # categories per picture


def _when(ts: float | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _histograms(title: str, reference: Sequence[float], window: Sequence[float], unit: str) -> Figure:
    figure = Figure(figsize=(5.2, 3.2))
    axes = figure.subplots()
    both = np.concatenate([reference, window])
    low = min(float(np.quantile(both, 0.01)), 0.0) if both.size else 0.0
    high = float(np.quantile(both, 0.99)) if both.size else 1.0
    bins = np.linspace(low, max(high, low + 1e-9), 40).tolist()
    axes.hist(np.clip(reference, low, high), bins=bins, density=True, alpha=0.55, color=GREY, label="reference")
    axes.hist(np.clip(window, low, high), bins=bins, density=True, alpha=0.55, color=BLUE, label="window")
    axes.set_title(title)
    axes.set_xlabel(unit)
    axes.legend()
    figure.tight_layout()
    return figure


def _statistics_figure(result: MonitorResult) -> Figure:
    checks = result.drift
    figure = Figure(figsize=(5.2, 0.4 * len(checks) + 1.2))
    axes = figure.subplots()
    ratios = [(c.value or 0.0) / c.threshold for c in checks]
    colours = [RED if c.fired else GREEN if c.status == "ok" else GREY for c in checks]
    axes.barh([c.name for c in checks], ratios, color=colours)
    axes.axvline(1.0, color="black", linestyle="--", linewidth=1)
    axes.set_xlabel("value / threshold (red: drift)")
    axes.invert_yaxis()
    figure.tight_layout()
    return figure


ONLINE_METRIC = {"binary": ("recall", "recall (labelled positives)"), "multiclass": ("accuracy", "accuracy"),
                 "regression": ("mae", "mean absolute error")}  # fmt: skip


def _online_value(metrics: OnlineMetrics) -> float | None:
    """The headline online metric of the model's task: recall, accuracy or MAE."""
    value = getattr(metrics, ONLINE_METRIC.get(metrics.task, ONLINE_METRIC["binary"])[0])
    return None if value is None else float(value)


def _recall_figure(result: MonitorResult) -> Figure:
    figure = Figure(figsize=(5.2, 3.2))
    axes = figure.subplots()
    keys = sorted({(m.version, m.route) for m in result.online_over_time})
    task = result.online_over_time[0].task if result.online_over_time else "binary"
    name, label = ONLINE_METRIC.get(task, ONLINE_METRIC["binary"])
    for version, route in keys:
        points = [
            m
            for m in result.online_over_time
            if (m.version, m.route) == (version, route) and _online_value(m) is not None
        ]
        if points:
            times = [datetime.fromtimestamp(m.start, tz=UTC) for m in points]
            values = [_online_value(m) or 0.0 for m in points]
            axes.plot(times, values, marker="o", label=f"v{version} {route}")  # type: ignore[arg-type]
    if task != "regression":
        axes.set_ylim(0, 1.05)
    axes.set_ylabel(label)
    axes.set_title(f"online {name} per {result.bucket_seconds // 60} min")
    axes.legend()
    figure.autofmt_xdate()
    figure.tight_layout()
    return figure


def _shadow_figure(result: MonitorResult) -> Figure | None:
    shadow = result.shadow
    if shadow is None or shadow.decision is None or not shadow.e_path:
        return None
    figure = Figure(figsize=(5.2, 3.2))
    axes = figure.subplots()
    axes.plot(range(1, len(shadow.e_path) + 1), shadow.e_path, color=BLUE)
    axes.axhline(shadow.decision.threshold, color=RED, linestyle="--", label=f"1/alpha = {shadow.decision.threshold:g}")
    axes.set_yscale("log")
    axes.set_xlabel("discordant labelled pairs")
    axes.set_ylabel("e-value")
    axes.set_title(f"shadow v{shadow.shadow} vs champion v{shadow.champion}")
    axes.legend()
    figure.tight_layout()
    return figure


def _shares(title: str, reference: dict[str, int], window: dict[str, int]) -> Figure:
    keys = sorted(set(reference) | set(window))[:MAX_BARS]
    ref_total, win_total = max(sum(reference.values()), 1), max(sum(window.values()), 1)
    figure = Figure(figsize=(5.2, 3.2))
    axes = figure.subplots()
    positions = np.arange(len(keys))
    axes.bar(positions - 0.2, [reference.get(k, 0) / ref_total for k in keys], 0.4, color=GREY, label="reference")
    axes.bar(positions + 0.2, [window.get(k, 0) / win_total for k in keys], 0.4, color=BLUE, label="window")
    axes.set_xticks(positions, [k[:14] for k in keys], rotation=30, ha="right")
    axes.set_title(title)
    axes.set_ylabel("share")
    axes.legend()
    figure.tight_layout()
    return figure


def _feature_figures(result: MonitorResult) -> dict[str, Figure]:
    """One small picture per feature, in the order of the drift table (most drifted first), at most MAX_FEATURES."""
    reference = result.reference
    if reference is None or not reference.features:
        return {}
    ordered = list(dict.fromkeys(c.feature for c in result.drift if c.feature in reference.features))
    shown: dict[str, Figure] = {}
    for name in ordered[:MAX_FEATURES]:
        profile = reference.features[name]
        if isinstance(profile, NumericProfile) and result.samples.get(f"feature:{name}"):
            shown[f"feature {name}"] = _histograms(name, profile.sample, result.samples[f"feature:{name}"], "value")
        elif isinstance(profile, CategoricalProfile) and name in result.categories:
            shown[f"feature {name}"] = _shares(name, profile.counts, result.categories[name])
    return shown


def figures(result: MonitorResult) -> dict[str, Figure]:
    """The report's pictures, by caption."""
    shown: dict[str, Figure] = {}
    if result.drift:
        shown["drift statistics"] = _statistics_figure(result)
    reference = result.reference
    if reference is not None and result.samples.get("text_length"):
        shown["text length"] = _histograms("text length", reference.text_chars, result.samples["text_length"], "chars")
    if reference is not None and result.samples.get("score"):
        what = {"regression": "prediction", "multiclass": "top-class probability"}.get(reference.task, "score")
        shown[what] = _histograms(f"{what} of v{result.version}", reference.eval_scores, result.samples["score"], what)
    shown.update(_feature_figures(result))
    if any(_online_value(m) is not None for m in result.online_over_time):
        shown["online performance"] = _recall_figure(result)
    if (shadow := _shadow_figure(result)) is not None:
        shown["shadow evidence"] = shadow
    return shown


def _sections(result: MonitorResult) -> list[str]:
    fired = result.fired
    colour = RED if fired else GREEN
    verdict = "retraining triggered: " + "; ".join(t.reason for t in fired) if fired else "no trigger fired"
    sections = [
        f"<h1 style='color:{colour}'>{html.escape(result.model)}: {html.escape(verdict)}</h1>",
        f"<p>{html.escape(result.window)}: {result.rows} texts in {result.requests} requests, "
        f"{_when(result.first_ts)} to {_when(result.last_ts)}; served by v{result.version} "
        f"({result.version_rows} texts); reference profile {result.profile}. "
        f"Log <code>{html.escape(result.log)}</code>.</p>",
        "<h2>Triggers</h2>",
        html_table(
            ["trigger", "fired", "why"], [[t.name, "YES" if t.fired else "no", t.reason] for t in result.triggers]
        ),
        "<h2>Drift statistics</h2>",
        html_table(
            ["statistic", "feature", "value", "threshold", "noise (p99)", "status", "detail"],
            [
                [c.name, c.feature, _fmt(c.value), _fmt(c.threshold), _fmt(c.noise), c.status, c.detail]
                for c in result.drift
            ],
        ),
        "<h2>Online performance (feedback)</h2>",
        _online_table(result),
    ]
    if result.shadow is not None:
        sections += ["<h2>Shadow comparison</h2>", f"<p>{html.escape(result.shadow.note)}</p>"]
        if result.shadow.decision is not None:
            reasons = "".join(f"<li>{html.escape(r)}</li>" for r in result.shadow.decision.reasons)
            sections.append(f"<ul>{reasons}</ul><p>Test: {html.escape(result.shadow.decision.method)}.</p>")
    if result.notes:
        sections += ["<h2>Notes</h2>", "<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in result.notes) + "</ul>"]
    return sections


def _online_table(result: MonitorResult) -> str:
    if all(m.task == "binary" for m in result.online):
        return html_table(
            ["version", "route", "labelled", "recall [90% CI]", "precision", "f1"],
            [
                [f"v{m.version}", m.route, str(m.labelled), recall_text(m), _fmt(m.precision), _fmt(m.f1)]
                for m in result.online
            ],
        )
    return html_table(
        ["version", "route", "labelled", "online performance [90% CI]"],
        [[f"v{m.version}", m.route, str(m.labelled), online_text(m)] for m in result.online],
    )


def markdown(result: MonitorResult, report: Path) -> str:
    """A short Markdown summary (for a CI job summary): verdict, drift table, online recall, report path."""
    fired = result.fired
    lines = [
        f"### trunkml monitor: {result.model} — " + ("retraining triggered" if fired else "no trigger fired"),
        f"{result.window}: {result.rows} texts served by v{result.version}.",
        "",
        "| statistic | value | threshold | status |",
        "|---|---|---|---|",
        *(f"| {c.name} | {_fmt(c.value)} | {_fmt(c.threshold)} | {c.status} |" for c in result.drift),
        "",
        *(f"- online v{m.version} {m.route}: {online_text(m)}" for m in result.online),
        *(f"- trigger {t.name}: {'**FIRED**' if t.fired else 'quiet'}: {t.reason}" for t in result.triggers),
        *(f"- note: {note}" for note in result.notes),
        f"- report: `{report}`",
    ]
    return "\n".join(lines) + "\n"


def write_report(result: MonitorResult, path: Path) -> Path:
    """Write the HTML report to ``path`` (its folder is created) and return it."""
    sections = _sections(result)
    sections += [html_figure(caption, png_bytes(figure)) for caption, figure in figures(result).items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html_document(f"trunkml monitor: {result.model}", sections), encoding="utf-8")
    return path
