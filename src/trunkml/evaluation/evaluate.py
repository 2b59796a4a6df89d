"""`trunkml evaluate`: predict both models on one verified eval set, decide, record, report."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from trunkml.config import Settings, load_project
from trunkml.datasets import DataService, LoadedDataset
from trunkml.datasets.leakage import NORMALISATION_VERSION, describe_row, find_leakage
from trunkml.datasets.schema import json_records
from trunkml.datasets.split import SplitSpec, split_frame
from trunkml.errors import IntegrityError, LeakageError, NotFoundError, RefusedError, UsageError
from trunkml.evaluation import decision as records
from trunkml.evaluation.gate import compare_predictions
from trunkml.evaluation.gate_report import ReportInput, example_rows, write_reports
from trunkml.evaluation.policy import GatePolicy, load_policy
from trunkml.evaluation.results import GateDecision
from trunkml.evaluation.task_report import write_task_reports
from trunkml.registry import ModelVersionRecord, Registry, show
from trunkml.registry.artifacts import VerifiedModel, document_digest, record_on_version, upload_run_file
from trunkml.registry.explain import Explanation
from trunkml.registry.lineage import TRIVIAL
from trunkml.registry.predictions import PredictionCache, Predictions

Report = Callable[[str], None]
DEFAULT_CHAMPION = "@champion"
EXPLAINED_TOP = 5


class EvaluateRequest(BaseModel):
    """Which versions to compare, on which eval set, and where reports go."""

    model_config = ConfigDict(frozen=True)

    model: str | None = None
    champion: str = DEFAULT_CHAMPION
    challenger: str = "@challenger"
    eval: str | None = None
    report_dir: Path | None = None


class EvaluationResult(BaseModel):
    """The decision and everything needed to reproduce or audit it."""

    model_config = ConfigDict(frozen=True)

    model: str
    challenger: int
    champion: int | None
    champion_ref: str
    eval_dataset: str
    eval_sha256: str
    eval_overlap: dict[str, int]
    """Eval rows that also occur in each version's training data (within the project's allowance)."""
    decision: GateDecision
    predictions: dict[str, str]
    reports: dict[str, str]
    record: str
    seconds: float


def model_inputs(
    evaluation: LoadedDataset, frame: pd.DataFrame
) -> tuple[list[str], list[dict[str, Any]] | None, list[str] | pd.DataFrame]:
    """(each row as people read it, the rows as records or None for texts, what the models predict on)."""
    schema = evaluation.pointer.resolved_schema
    features = frame[list(schema.names)]
    if schema.single_text is not None:
        texts = features[schema.single_text].tolist()
        return texts, None, texts
    records = json_records(features)
    return [describe_row(features, i, 200) for i in range(len(features))], records, features


@dataclass(frozen=True)
class GateInputs:
    """What the gate decides on: the verified eval set's truth, the models' inputs and the slice masks."""

    evaluation: LoadedDataset
    truth: np.ndarray
    texts: list[str]
    records: list[dict[str, Any]] | None
    inputs: list[str] | pd.DataFrame
    masks: dict[str, np.ndarray]


def gate_inputs(service: DataService, evaluation: LoadedDataset) -> GateInputs:
    """The truth, the inputs and the slices of a verified eval set, as the gate reads them."""
    frame = evaluation.labelled()
    task = evaluation.pointer.task
    truth = frame["label"].to_numpy(dtype=float if task == "regression" else np.int64)
    texts, records, inputs = model_inputs(evaluation, frame)
    return GateInputs(evaluation, truth, texts, records, inputs, dict(service.slices(evaluation)))


def answers(task: str, found: Predictions) -> Any:
    """What the gate compares: a regression model's scores, otherwise its labels."""
    return found.scores if task == "regression" else found.labels


def decide(
    settings: Settings,
    registry: Registry,
    given: GateInputs,
    challenger: ModelVersionRecord,
    champion: ModelVersionRecord | None,
    policy: GatePolicy,
    report: Report,
) -> tuple[Predictions, Predictions | None, GateDecision]:
    """Both versions' digest-verified predictions (cached, else computed) and the gate's decision on them."""
    cache = PredictionCache(registry, settings.home_dir / "cache" / "predictions")
    pointer = given.evaluation.pointer

    def predict(record: ModelVersionRecord) -> Predictions:
        report(f"predictions of v{record.version}")
        return cache.predictions(
            record.name, record.version, record.model_digest, record.run_id, pointer.sha256, given.inputs
        )

    new = predict(challenger)
    old = predict(champion) if champion is not None else None
    trivial = challenger.raw_tags.get(TRIVIAL)
    decision = compare_predictions(
        given.truth, answers(pointer.task, old) if old else None, answers(pointer.task, new), policy, given.masks,
        baseline=json.loads(trivial) if trivial else None,
    )  # fmt: skip
    return new, old, decision


def _champion(registry: Registry, model: str, ref: str) -> ModelVersionRecord | None:
    try:
        return show(registry, model, ref)
    except NotFoundError:
        if ref == DEFAULT_CHAMPION:
            return None  # no champion yet: cold start
        raise


def _training_rows(service: DataService, record: ModelVersionRecord, seen: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The typed features a version was trained on, re-read and re-verified from its lineage (each dataset once)."""
    frames: list[pd.DataFrame] = []
    for use in (u for u in record.datasets if u.role == "train"):
        key = f"{use.ref}:{use.sha256}:{record.split}"
        if key not in seen:
            seen[key] = _read_training(service, record, use.ref, use.sha256)
        frames.append(seen[key])
    return pd.concat(frames, ignore_index=True)


def _read_training(service: DataService, record: ModelVersionRecord, ref: str, sha256: str) -> pd.DataFrame:
    base = ref.removesuffix("#split")
    loaded = service.load(base)
    if loaded.pointer.sha256 != sha256:
        raise IntegrityError(
            f"{record.ref} was trained on {base} with sha256 {sha256[:12]}…, "
            f"but that pointer now has {loaded.pointer.sha256[:12]}…"
        )
    split_of_this = any(use.ref == f"{base}#split" for use in record.datasets)
    if record.split and split_of_this:  # trained on the split's train part only
        spec = SplitSpec(eval_fraction=float(str(record.split["eval_fraction"])), seed=int(str(record.split["seed"])))
        return split_frame(loaded.labelled(), spec)[0].drop(columns=["label"])
    return loaded.features()


def _overlap(
    service: DataService, record: ModelVersionRecord, evaluation: LoadedDataset, seen: dict[str, pd.DataFrame]
) -> tuple[int, int]:
    """(overlapping rows, eval rows) between a version's training data and the eval set, cached by digests."""
    train = sorted(f"{u.ref}:{u.sha256}" for u in record.datasets if u.role == "train")
    key = hashlib.sha256(
        json.dumps(
            [train, record.split, evaluation.pointer.sha256, NORMALISATION_VERSION], sort_keys=True, default=str
        ).encode()
    ).hexdigest()
    cached = service.settings.home_dir / "cache" / "leakage" / f"{key}.json"
    if cached.is_file():
        counts = json.loads(cached.read_text(encoding="utf-8"))
        return int(counts["overlapping_rows"]), int(counts["eval_rows"])
    report = find_leakage(
        _training_rows(service, record, seen),
        evaluation.features(),
        train=record.ref,
        eval=evaluation.pointer.ref,
        allowance=0.0,
    )
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps({"overlapping_rows": report.overlapping_rows, "eval_rows": report.eval_rows}))
    return report.overlapping_rows, report.eval_rows


def _refuse_leakage(
    service: DataService, versions: list[ModelVersionRecord], evaluation: LoadedDataset, allowance: float
) -> dict[str, int]:
    """Overlapping eval rows per version (recorded with the decision); beyond the allowance: refused."""
    seen: dict[str, pd.DataFrame] = {}
    counts: dict[str, int] = {}
    for record in versions:
        overlapping, rows = _overlap(service, record, evaluation, seen)
        counts[f"v{record.version}"] = overlapping
        share = overlapping / rows if rows else 0.0
        if overlapping and not (allowance > 0 and share <= allowance):
            raise LeakageError(
                f"{overlapping} of {rows} rows of {evaluation.pointer.ref} ({share:.2%}) occur in the training data "
                f"of {record.ref}; a comparison on them would flatter it",
                hint="evaluate on a set disjoint from both models' training data (--eval)",
            )
    return counts


def _record(registry: Registry, result: EvaluationResult) -> None:
    document = {
        **result.model_dump(mode="json", exclude={"record", "seconds"}),
        "decided_at": datetime.now(UTC).isoformat(),
    }
    decision = result.decision
    summary = records.DecisionSummary(
        decision="promote" if decision.promote else "reject",
        champion=str(result.champion) if result.champion is not None else records.NO_CHAMPION,
        eval=result.eval_dataset,
        eval_sha256=result.eval_sha256,
        p_value=decision.p_value,
        policy_digest=decision.policy_digest,
        record=result.record,
        record_sha256=document_digest(document),
        decided_at=document["decided_at"],
    )
    record_on_version(registry, result.model, result.challenger, document, result.record, records.tags_for(summary))


def explain_examples(
    registry: Registry, info: ReportInput, challenger: ModelVersionRecord, champion: ModelVersionRecord | None
) -> ReportInput:
    """The report's example rows explained by each model (verified, in its own process); never fails the gate."""
    rows = sorted({row for found in example_rows(info).values() for row in found})
    if not rows:
        return info
    explained: dict[int, dict[str, Explanation]] = {row: {} for row in rows}
    old = info.champion_labels
    disagree = [row for row in rows if old is not None and old[row] != info.challenger_labels[row]]
    methods: set[str] = set()
    problems: list[str] = []
    for role, record in (("challenger", challenger), ("champion", champion)):
        if record is None:
            continue
        wanted = rows if role == "challenger" else disagree  # the champion explains where the two disagree
        if not wanted:
            continue
        try:
            loaded = VerifiedModel(registry, info.model, record.version)  # digest-verified, as predictions are
            try:
                inputs = info.records if info.records is not None else info.texts
                found = loaded.explain([inputs[r] for r in wanted], EXPLAINED_TOP)
            finally:
                loaded.close()
        except Exception as exc:  # explanations are evidence for people: their failure is reported, not fatal
            problems.append(f"{role} v{record.version}: {type(exc).__name__}: {str(exc)[:200]}")
            continue
        for row, explanation in zip(wanted, found, strict=True):
            explained[row][f"{role} v{record.version}"] = explanation
            methods.add(explanation.method)
    note = "Explanations: " + "; ".join(sorted(methods)) if methods else ""
    if problems:
        note += (" " if note else "") + "Explanations unavailable for " + "; ".join(problems)
    return dataclasses.replace(info, explanations=explained, explanation_note=note)


def evaluate(settings: Settings, request: EvaluateRequest, report: Report) -> EvaluationResult:
    """Compare challenger and champion on the frozen eval set; record and report the decision."""
    started = time.perf_counter()
    project = load_project(settings.project_root)
    model = request.model or project.model
    if not model:
        raise UsageError("which model?", hint="pass --model or set 'model' in trunkml.yaml")
    eval_ref = request.eval or project.gate.eval
    if not eval_ref:
        raise UsageError("no evaluation set", hint="pass --eval DATASET or set gate.eval in trunkml.yaml")
    report("resolving versions")
    registry = Registry(settings)
    challenger = show(registry, model, request.challenger)
    champion = _champion(registry, model, request.champion)
    if champion is not None and champion.version == challenger.version:
        raise RefusedError(
            f"champion and challenger are the same version ({challenger.ref})",
            hint="a version cannot be compared with itself; train a new one or name another",
        )
    report(f"verifying {eval_ref}")
    service = DataService(settings)
    evaluation = service.load_valid(eval_ref)
    task = evaluation.pointer.task
    policy = load_policy(settings.project_root, task)
    versions = [challenger] + ([champion] if champion is not None else [])
    overlap = _refuse_leakage(service, versions, evaluation, project.data.max_eval_overlap)
    given = gate_inputs(service, evaluation)
    truth, texts, records, masks = given.truth, given.texts, given.records, given.masks
    new, old, decision = decide(settings, registry, given, challenger, champion, policy, report)
    report("writing reports")
    against = f"v{champion.version}" if champion else "none"
    folder = request.report_dir or settings.home_dir / "reports" / model / f"v{challenger.version}-vs-{against}"
    info = ReportInput(
        model=model,
        challenger=challenger.version,
        champion=champion.version if champion else None,
        eval_ref=evaluation.pointer.ref,
        eval_sha256=evaluation.pointer.sha256,
        texts=texts,
        records=records,
        y_true=truth,
        challenger_labels=answers(task, new),
        challenger_scores=new.scores,
        champion_labels=answers(task, old) if old else None,
        champion_scores=old.scores if old else None,
        challenger_threshold=challenger.metrics.get("threshold"),
        champion_threshold=champion.metrics.get("threshold") if champion else None,
        slices=masks,
        classes=evaluation.pointer.class_names,
    )
    if task == "binary":
        report("explaining the examples for reviewers")
        info = explain_examples(registry, info, challenger, champion)
        paths = write_reports(info, decision, folder)
    else:
        paths = write_task_reports(info, decision, folder, evaluation.pointer.class_list)
    result = EvaluationResult(
        model=model,
        challenger=challenger.version,
        champion=champion.version if champion else None,
        champion_ref=request.champion,
        eval_dataset=evaluation.pointer.ref,
        eval_sha256=evaluation.pointer.sha256,
        eval_overlap=overlap,
        decision=decision,
        predictions={
            f"v{challenger.version}": new.source.value,
            **({f"v{champion.version}": old.source.value} if champion and old else {}),
        },
        reports={kind: str(path) for kind, path in paths.items()},
        record=f"trunkml/decisions/{evaluation.pointer.sha256[:12]}-vs-{against}.json",
        seconds=time.perf_counter() - started,
    )
    _record(registry, result)
    if challenger.run_id:
        upload_run_file(registry, challenger.run_id, paths["html"], f"trunkml/reports/vs-{against}")
    return result
