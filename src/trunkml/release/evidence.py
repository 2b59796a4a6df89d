"""What a reviewer sees before approving, and explanations of what a version flags.

``gather_evidence`` collects the decision summary, the infra-validation result, the slice
table and the gate report of a version; approving is refused while any of them is missing,
stale or failing, so nobody approves blind. ``explain_version`` loads a verified version in
its own process and explains texts with it (see ``registry.explain``).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from trunkml.config import Settings, resolve_model
from trunkml.errors import RefusedError, UsageError
from trunkml.evaluation.decision import NO_CHAMPION, DecisionSummary, summary
from trunkml.registry import ModelVersionRecord, Registry, show
from trunkml.registry.artifacts import download_run_file, load_run_json
from trunkml.registry.blessing import InfraSummary, blessing_of
from trunkml.registry.explain import DEFAULT_TOP_K, Explanation
from trunkml.registry.model_process import ModelProcess, ModelProcessError
from trunkml.release.blessing_policy import blessing_problem

MAX_EXPLAINED_TEXTS = 64


class Evidence(BaseModel):
    """Everything a reviewer needs in front of them to approve a version."""

    model_config = ConfigDict(frozen=True)

    model: str
    version: int
    decision: DecisionSummary
    reasons: list[str]
    slices: list[dict[str, Any]]
    infra: InfraSummary | None
    report: str
    """Where the gate report is: the run artifact (``runs:/…``), always fetchable from the registry."""


def gather_evidence(settings: Settings, registry: Registry, record: ModelVersionRecord) -> Evidence:
    """The version's evidence, or a refusal that lists everything missing."""
    problems: list[str] = []
    found = summary(record)
    document: dict[str, Any] = {}
    if found is None:
        problems.append(f"no gate decision: run `trunkml evaluate --challenger {record.version}`")
    elif record.run_id:
        document = load_run_json(registry, record.run_id, found.record) or {}
        if not document:
            problems.append(f"the gate decision's document {found.record} cannot be read from the registry")
    against = "none" if found is None or found.champion == NO_CHAMPION else f"v{found.champion}"
    report = f"trunkml/reports/vs-{against}/gate.html"
    if document and record.run_id:
        with tempfile.TemporaryDirectory() as scratch:
            if download_run_file(registry, record.run_id, report, Path(scratch)) is None:
                problems.append(f"the gate report {report} is not in the registry: re-run `trunkml evaluate`")
    unblessed = blessing_problem(settings, record)
    if unblessed:
        problems.append(unblessed)
    if problems or found is None:
        raise RefusedError(
            f"{record.ref} cannot be approved without its evidence:\n  " + "\n  ".join(problems),
            hint="a reviewer approves what they can see: the decision, the infra validation, the slices, the report",
        )
    decision = document.get("decision", {})
    return Evidence(
        model=record.name,
        version=record.version,
        decision=found,
        reasons=list(decision.get("reasons", [])),
        slices=list(decision.get("slices", [])),
        infra=blessing_of(record),
        report=f"runs:/{record.run_id}/{report}",
    )


@dataclass(frozen=True)
class Explained:
    """One text with its prediction and explanation."""

    text: str
    label: int
    score: float
    explanation: Explanation


def as_input(text: str) -> Any:
    """A text as given, or a record when it is a JSON object (``'{"age": 41, "plan": "pro"}'``)."""
    if not text.lstrip().startswith("{"):
        return text
    try:
        record = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{text[:60]!r} starts like a JSON record but is not valid JSON: {exc}") from exc
    if not isinstance(record, dict):
        raise UsageError("a record is one JSON object of feature values")
    return record


def explain_version(
    settings: Settings, ref: str, texts: list[str], model: str | None = None, top_k: int = DEFAULT_TOP_K
) -> tuple[ModelVersionRecord, list[Explained]]:
    """Predict and explain ``texts`` with a verified version, loaded in its own process."""
    if not texts:
        raise UsageError("nothing to explain", hint='pass one or more texts: trunkml explain @champion "texto"')
    if len(texts) > MAX_EXPLAINED_TEXTS:
        raise UsageError(f"explain takes at most {MAX_EXPLAINED_TEXTS} texts at a time, got {len(texts)}")
    if not 1 <= top_k <= 100:
        raise UsageError(f"--top must be between 1 and 100, got {top_k}")
    registry = Registry(settings)
    record = show(registry, resolve_model(settings, model), ref)
    try:
        process = ModelProcess(registry, record.name, record.version)
    except ModelProcessError as exc:  # the model's own failure to load
        raise RefusedError(f"{record.ref} could not be loaded: {exc}") from exc
    inputs = [as_input(text) for text in texts]
    try:
        labels, scores = process.predict(inputs)
        explanations = process.explain(inputs, top_k)
    finally:
        process.close()
    return record, [
        Explained(text, int(label), float(score), explanation)
        for text, label, score, explanation in zip(texts, labels, scores, explanations, strict=True)
    ]
