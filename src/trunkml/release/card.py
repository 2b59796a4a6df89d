"""A model card per version, generated from what trunkml already knows, in Markdown and HTML.

Sections: lineage (commit, authors, data digests), the data (schema and sizes), the metrics with
their intervals, the gate decision with its reasons, guards and slices, the infra validation, the
approvals with their verification status, and the version's history. ``trunkml models card REF``
shows it and stores both files with the version's run (``trunkml/card/``); model-cd posts it into
the CI job summary.
"""

from __future__ import annotations

import html
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

from trunkml.approvals.approval import judge
from trunkml.approvals.chain import Trust
from trunkml.config import Settings
from trunkml.datasets import DataService
from trunkml.datasets.pointer import DatasetRef
from trunkml.errors import TrunkmlError
from trunkml.evaluation.decision import summary
from trunkml.evaluation.gate_report import html_document, html_table, md_table
from trunkml.registry import ModelVersionRecord, Registry
from trunkml.registry.artifacts import load_run_json, upload_run_file
from trunkml.registry.blessing import blessing_of
from trunkml.registry.events import chain, history

ARTIFACT_DIR = "trunkml/card"


class Section(NamedTuple):
    """One titled table (or one line of text when ``header`` is empty)."""

    title: str
    header: list[str]
    rows: list[list[str]]


class ModelCard(NamedTuple):
    """The card as sections, and as the two documents rendered from them."""

    title: str
    sections: list[Section]
    picture: str = ""
    """An SVG of the gate's verdict for the HTML card (empty without a paired decision)."""

    def markdown(self) -> str:
        parts = [f"# {self.title}"]
        for section in self.sections:
            body = md_table(section.header, section.rows) if section.header else "\n".join(r[0] for r in section.rows)
            parts += [f"## {section.title}", body]
        return "\n\n".join(parts) + "\n"

    def html(self) -> str:
        parts = [f"<h1>{html.escape(self.title)}</h1>", self.picture]
        for section in self.sections:
            parts.append(f"<h2>{html.escape(section.title)}</h2>")
            if section.header:
                parts.append(html_table(section.header, section.rows))
            else:
                parts += [f"<p>{html.escape(row[0])}</p>" for row in section.rows]
        return html_document(self.title, parts)


def verdict_svg(decision: dict[str, Any]) -> str:
    """The primary metric's change with its interval on an axis through zero: what the gate saw, at a glance."""
    found = [decision[key] for key in ("difference", "ci_low", "ci_high") if decision.get(key) is not None]
    if len(found) < 3:
        return ""
    change, low, high = (float(value) for value in found)
    reach = max(abs(low), abs(high), abs(change), 1e-9) * 1.2
    width, middle = 480, 240

    def x(value: float) -> float:
        return middle + value / reach * (middle - 20)

    colour = "#1a7f37" if decision.get("promote") else "#cf222e"
    label = f"{decision.get('primary_metric')} change {change:+.4g}, interval [{low:+.4g}, {high:+.4g}]"
    return (
        f"<figure><svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='70' role='img' "
        f"aria-label='{html.escape(label)}'>"
        f"<line x1='20' y1='35' x2='{width - 20}' y2='35' stroke='#888'/>"
        f"<line x1='{middle}' y1='15' x2='{middle}' y2='55' stroke='#444' stroke-dasharray='3'/>"
        f"<line x1='{x(low):.1f}' y1='35' x2='{x(high):.1f}' y2='35' stroke='{colour}' stroke-width='6'/>"
        f"<circle cx='{x(change):.1f}' cy='35' r='7' fill='{colour}'/>"
        f"<text x='{middle}' y='68' text-anchor='middle' font-size='11'>0 (no change)</text></svg>"
        f"<figcaption>{html.escape(label)}</figcaption></figure>"
    )


def _lineage(record: ModelVersionRecord) -> Section:
    rows = [
        ["commit", record.git_sha or "unknown"],
        ["author (HEAD)", record.git_author or "unknown"],
        ["job", record.job or "unknown"],
        ["model digest", record.model_digest or "unknown"],
        *[[f"data: {use.role}", f"{use.ref} sha256 {use.sha256}"] for use in record.datasets],
    ]
    return Section("Lineage", ["what", "value"], rows)


def _data(settings: Settings, record: ModelVersionRecord) -> Section:
    rows: list[list[str]] = []
    catalog = DataService(settings).catalog
    for use in record.datasets:
        try:
            pointer = catalog.get(DatasetRef.parse(use.ref.removesuffix("#split")))
            schema = pointer.resolved_schema
            features = ", ".join(f"{f.name} ({f.type})" for f in schema.features)
            rows.append([use.role, use.ref, "" if use.rows is None else str(use.rows), pointer.task, features])
        except TrunkmlError as exc:
            rows.append([use.role, use.ref, "" if use.rows is None else str(use.rows), "?", f"({exc.message})"])
    return Section("Data", ["role", "dataset", "rows", "task", "features"], rows)


def _metrics(record: ModelVersionRecord, decision: dict[str, Any]) -> Section:
    """Each metric from the training run and from the gate (this version and the champion on the eval set)."""
    mine, theirs = decision.get("challenger_metrics") or {}, decision.get("champion_metrics") or {}

    def cell(found: dict[str, Any], name: str) -> str:
        return f"{found[name]:.4g}" if name in found else ""

    names = sorted(set(record.metrics) | set(mine))
    rows = [[name, cell(record.metrics, name), cell(mine, name), cell(theirs, name), ""] for name in names]
    if decision.get("difference") is not None:
        level = decision.get("ci_level") or 0
        low, high = decision.get("ci_low"), decision.get("ci_high")
        interval = f"{level:.0%} CI [{low:+.4g}, {high:+.4g}] ({decision.get('ci_method')})"
        rows.append([f"{decision['primary_metric']} difference", "", f"{decision['difference']:+.4g}", "", interval])
    header = ["metric", "training run", "gate: this version", "gate: champion", "interval"]
    return Section("Metrics", header, rows)


def _gate(record: ModelVersionRecord, document: dict[str, Any]) -> list[Section]:
    found = summary(record)
    if found is None:
        return [Section("Gate decision", [], [["no gate decision yet"]])]
    decision = document.get("decision", {})
    head = (
        f"{found.decision.upper()} against champion {found.champion} on {found.eval} "
        f"(p = {found.p_value if found.p_value is not None else 'n/a'}, b = {decision.get('b')}, "
        f"c = {decision.get('c')}, test {decision.get('test')}, decided {found.decided_at[:19]} UTC)"
    )
    sections = [
        Section("Gate decision", [], [[head], *[[f"- {reason}"] for reason in decision.get("reasons", [])]]),
        Section(
            "Guards",
            ["metric", "challenger", "threshold", "holds"],
            [
                [g["metric"], f"{g['challenger']:.4g}", f"{g['threshold']:.4g}", "yes" if g["ok"] else "NO"]
                for g in decision.get("guards", [])
            ],
        ),
    ]
    slices = decision.get("slices", [])
    if slices:
        rows = [
            [
                str(s.get("name")),
                str(s.get("rows", s.get("positives", ""))),
                "FAILS" if s.get("flagged") else "holds" if s.get("checked") else "reported",
            ]
            for s in slices
        ]
        sections.append(Section("Slices", ["slice", "rows", "guard"], rows))
    return sections


def _infra(record: ModelVersionRecord) -> Section:
    found = blessing_of(record)
    if found is None:
        return Section("Infra validation", [], [["none"]])
    verdict = "passed" if found.passed else "FAILED: " + "; ".join(found.reasons[:3])
    measured = f"p99 {found.p99_ms or 0:.0f} ms, peak {found.peak_memory_mib or 0:.0f} MiB"
    line = f"{verdict} at {found.validated_at[:19]} UTC: {measured}"
    return Section("Infra validation", [], [[line]])


def _approvals(settings: Settings, record: ModelVersionRecord) -> Section:
    trust = Trust.of(settings)
    envs = sorted({key.split(".")[2] for key in record.raw_tags if key.startswith("trunkml.approval.")})
    decision = summary(record)
    rows = [
        [v.env, v.approver, v.at[:19], v.via, "verified" if v.counts else f"does not count: {v.reason}"]
        for env in envs
        for v in judge(
            record, trust.rule(env), env, decision.record_sha256 if decision else None, trust.signers, trust.attestors
        )
    ]
    return Section("Approvals", ["env", "approver", "at (UTC)", "via", "status"], rows or [["", "none", "", "", ""]])


def _history(registry: Registry, record: ModelVersionRecord) -> list[Section]:
    rows = [
        [f"#{e.seq}", e.at[:19], e.kind, e.actor, f"v{e.from_version}→v{e.to_version}", e.reason]
        for e in history(registry, record.name)
        if record.version in (e.to_version, e.from_version)
    ]
    events = chain(registry, record.name)
    head = f"#{events[-1].seq} sha256 {events[-1].hash}" if events else "empty"
    return [
        Section(
            "History", ["event", "at (UTC)", "kind", "by", "move", "reason"], rows or [["", "", "none", "", "", ""]]
        ),
        Section("History chain head", [], [[f"{head} (keep it: a later audit can tell if newer events were removed)"]]),
    ]


def model_card(settings: Settings, registry: Registry, record: ModelVersionRecord) -> ModelCard:
    """The card of ``record``, from its lineage, data, decision, infra validation, approvals and history."""
    found = summary(record)
    document = (load_run_json(registry, record.run_id, found.record) if found and record.run_id else None) or {}
    sections: list[Section] = [
        _lineage(record),
        _data(settings, record),
        _metrics(record, document.get("decision", {})),
        *_gate(record, document),
        _infra(record),
        _approvals(settings, record),
        *_history(registry, record),
    ]
    picture = verdict_svg(document.get("decision", {}))
    return ModelCard(f"Model card: {record.name} v{record.version}", sections, picture)


def store_card(registry: Registry, record: ModelVersionRecord, card: ModelCard) -> dict[str, str]:
    """Write the card's Markdown and HTML into the version's run artifacts; returns their artifact paths."""
    if not record.run_id:
        return {}
    with tempfile.TemporaryDirectory(prefix="trunkml-card-") as scratch:
        folder = Path(scratch)
        (folder / "model-card.md").write_text(card.markdown(), encoding="utf-8")
        (folder / "model-card.html").write_text(card.html(), encoding="utf-8")
        for name in ("model-card.md", "model-card.html"):
            upload_run_file(registry, record.run_id, folder / name, ARTIFACT_DIR)
    return {kind: f"runs:/{record.run_id}/{ARTIFACT_DIR}/model-card.{kind}" for kind in ("md", "html")}
