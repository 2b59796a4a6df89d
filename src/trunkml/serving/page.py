"""The status page at ``/``: who serves, the traffic split, and the last five minutes of traffic.

Plain server-rendered HTML with an inline SVG chart: no scripts, no external
assets, so it works offline and behind strict content-security policies.
"""

from __future__ import annotations

import time
from collections import defaultdict
from html import escape
from typing import TYPE_CHECKING

from trunkml.serving.served_model import ModelInfo, ServedModel
from trunkml.serving.telemetry import WINDOW_S, Sample

if TYPE_CHECKING:
    from trunkml.serving.server import Server

STEP_S = 10
STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1f2933;max-width:60rem}
h1{font-size:1.4rem} h2{font-size:1.1rem;margin-top:1.6rem}
table{border-collapse:collapse} td,th{padding:.3rem .8rem;border-bottom:1px solid #d9e2ec;text-align:left}
.ok{color:#1b7f3b}.warn{color:#b54708} code{background:#f0f4f8;padding:0 .2rem}
"""


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def _model_row(role: str, served: ServedModel | None, note: str) -> str:
    if served is None:
        return f"<tr><th>{role}</th><td colspan=3 class=warn>none {escape(note)}</td></tr>"
    info = served.info
    sha = escape((info.git_sha or "unknown")[:10])
    return (
        f"<tr><th>{role}</th><td id={role}-version>v{info.version}</td><td>git <code>{sha}</code></td>"
        f"<td>model digest <code>{escape(info.model_digest[:16])}</code></td>"
        f"<td>{escape(_answers(info))}</td></tr>"
    )


def _answers(info: ModelInfo) -> str:
    """What the version answers, by task: its two labels, its K classes, or a value."""
    if info.task == "regression":
        return "regression: a predicted value"
    if info.task == "multiclass":
        shown = ", ".join(info.class_list[:12]) + (", …" if len(info.class_list) > 12 else "")
        return f"{len(info.class_list)} classes: {shown}"
    return f"label 0: {info.classes[0]}; label 1: {info.classes[1]}"


def _traffic_table(samples: list[Sample]) -> str:
    groups: dict[tuple[str, str], list[Sample]] = defaultdict(list)
    for sample in samples:
        groups[(sample.route, sample.version)].append(sample)
    if not groups:
        return "<p>No prediction requests in the last five minutes.</p>"
    rows = []
    for (route, version), items in sorted(groups.items()):
        latencies = [item.seconds * 1000 for item in items]
        errors = sum(1 for item in items if item.status >= 400)
        rows.append(
            f"<tr><td>{escape(route)}</td><td>v{escape(version)}</td><td>{len(items)}</td><td>{errors}</td>"
            f"<td>{_percentile(latencies, 0.5):.1f}</td><td>{_percentile(latencies, 0.99):.1f}</td></tr>"
        )
    head = "<tr><th>route</th><th>version</th><th>requests</th><th>errors</th><th>p50 ms</th><th>p99 ms</th></tr>"
    return f"<table id=traffic>{head}{''.join(rows)}</table>"


def _chart(samples: list[Sample], now: float) -> str:
    """Requests per 10 s over the window, as SVG bars."""
    slots = int(WINDOW_S // STEP_S)
    counts = [0] * slots
    for sample in samples:
        index = slots - 1 - int((now - sample.at) // STEP_S)
        if 0 <= index < slots:
            counts[index] += 1
    top = max(counts) or 1
    width, height = 600, 120
    bar = width / slots
    bars = "".join(
        f'<rect x="{i * bar:.1f}" y="{height - count / top * height:.1f}" width="{bar - 1:.1f}" '
        f'height="{count / top * height:.1f}" fill="#3e7cb1"><title>{count} requests</title></rect>'
        for i, count in enumerate(counts)
    )
    return (
        f'<svg role="img" aria-label="requests per 10 seconds" width="{width}" height="{height + 20}">'
        f'{bars}<text x="0" y="{height + 15}" font-size="11">-5 min</text>'
        f'<text x="{width - 30}" y="{height + 15}" font-size="11">now</text></svg><p>peak {top} requests / 10 s</p>'
    )


def status_page(server: Server) -> str:
    """Render the page for the server's state right now."""
    follower, traffic = server.follower, server.spec.traffic
    samples = server.metrics.window()
    note = "" if follower.champion else f"(waiting for {traffic.champion}; {follower.last_error or 'loading'})"
    split = f"canary {traffic.canary.percent:g}% to {escape(traffic.canary.ref)}"
    shadow = f"shadow {'on' if traffic.shadow.enabled else 'off'} ({escape(traffic.shadow.ref)})"
    refusals = "".join(
        f"<li class=warn>{escape(r.role)} v{r.version} refused ({escape(r.reason)}): {escape(r.message)}</li>"
        for r in reversed(follower.refusals[-5:])
    )
    return f"""<!doctype html><html lang=en><head><meta charset=utf-8><meta http-equiv=refresh content=5>
<title>trunkml · {escape(server.spec.model)}</title><style>{STYLE}</style></head><body>
<h1>trunkml serving <code>{escape(server.spec.model)}</code></h1>
<table>{_model_row("champion", follower.champion, note)}{_model_row("challenger", follower.challenger, "")}</table>
<p>Traffic: {split}; {shadow}. Following {escape(traffic.champion)} every {server.spec.follow.poll_interval_s:g} s.</p>
<h2>Last five minutes</h2>{_chart(samples, time.time())}{_traffic_table(samples)}
<h2>Refused candidates</h2><ul>{refusals or "<li class=ok>none</li>"}</ul>
<p><a href=/model>/model</a> · <a href=/metrics>/metrics</a> · <a href=/docs>/docs</a></p>
</body></html>"""
