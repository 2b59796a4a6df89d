"""Turning a job's dataset inputs into verified, validated, leak-checked frames."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd

from trunkml.config import load_project
from trunkml.config.classes import DEFAULT_CLASS_NAMES
from trunkml.datasets import DataService
from trunkml.datasets.leakage import find_leakage
from trunkml.datasets.schema import DataSchema, text_schema
from trunkml.datasets.split import SplitRecord, split_frame
from trunkml.errors import DataFormatError, LeakageError
from trunkml.registry import DatasetUse
from trunkml.training.jobspec import JobSpec


@dataclass(frozen=True)
class PreparedData:
    """Training and evaluation rows (typed features, integer ``label``) and where they came from."""

    train: pd.DataFrame
    eval: pd.DataFrame
    uses: list[DatasetUse]
    split: SplitRecord | None
    class_names: tuple[str, str] = DEFAULT_CLASS_NAMES
    """The classes' names, from the training pointer (stored with the version)."""
    schema: DataSchema = field(default_factory=lambda: text_schema("label"))
    """The features' names and types, from the training pointer."""
    classes: tuple[str, ...] = ()
    """Every class's name in label order (multi-class; empty for regression; binary: ``class_names``)."""

    @property
    def task(self) -> str:
        """binary, multiclass or regression (the training pointer's)."""
        return self.schema.task

    @property
    def class_list(self) -> tuple[str, ...]:
        """Every class's name in label order (the two binary names when ``classes`` is not set)."""
        return self.classes or (self.class_names if self.task == "binary" else ())

    def features(self, part: pd.DataFrame) -> pd.DataFrame:
        """Exactly the schema's features of ``part`` (``train`` or ``eval``), in order."""
        return part[list(self.schema.names)]

    def sampled(self, rows: int, seed: int = 0) -> PreparedData:
        """At most ``rows`` of train and of eval, drawn per label in proportion (a smoke run's data)."""

        def take(frame: pd.DataFrame) -> pd.DataFrame:
            if len(frame) <= rows:
                return frame
            parts = [
                group.sample(n=max(1, round(rows * len(group) / len(frame))), random_state=seed)
                for _, group in frame.groupby("label", sort=True)
            ]
            return pd.concat(parts).sort_index()

        return replace(self, train=take(self.train), eval=take(self.eval))

    @property
    def digests(self) -> list[str]:
        """``role=ref@sha256`` strings, the data part of the CT idempotency key."""
        return sorted(f"{use.role}={use.ref}:{use.sha256}" for use in self.uses)


def prepare_data(service: DataService, spec: JobSpec) -> PreparedData:
    """Load (verify), validate and split or leak-check the job's inputs; refuse leakage."""
    train = service.load_valid(spec.inputs["train"])
    train_frame = train.labelled()
    if spec.split is not None:
        fit, held_out, record = split_frame(train_frame, spec.split)
        uses = [
            DatasetUse(role="train", ref=train.pointer.ref, sha256=train.pointer.sha256, rows=record.train_rows),
            DatasetUse(
                role="eval", ref=f"{train.pointer.ref}#split", sha256=train.pointer.sha256, rows=record.eval_rows
            ),
        ]
        return PreparedData(
            train=fit, eval=held_out, uses=uses, split=record, class_names=train.pointer.class_names,
            schema=train.pointer.resolved_schema, classes=tuple(train.pointer.class_list),
        )  # fmt: skip
    held = service.load_valid(spec.inputs["eval"])
    _same_features(train.pointer.resolved_schema, held.pointer.resolved_schema, held.pointer.ref)
    allowance = load_project(service.settings.project_root).data.max_eval_overlap
    leakage = find_leakage(
        train_frame.drop(columns=["label"]),
        held.features(),
        train=train.pointer.ref,
        eval=held.pointer.ref,
        allowance=allowance,
    )
    if not leakage.ok:
        raise LeakageError(
            f"{leakage.overlapping_rows} of {leakage.eval_rows} rows of eval dataset {held.pointer.ref} "
            f"({leakage.share:.2%}) also occur in training dataset {train.pointer.ref}; allowance {allowance:.2%}",
            hint=f"see `trunkml data validate {train.pointer.ref} --against {held.pointer.ref}`",
        )
    uses = [
        DatasetUse(role="train", ref=train.pointer.ref, sha256=train.pointer.sha256, rows=len(train_frame)),
        DatasetUse(role="eval", ref=held.pointer.ref, sha256=held.pointer.sha256, rows=len(held.frame)),
    ]
    names = train.pointer.class_names
    return PreparedData(
        train=train_frame, eval=held.labelled(), uses=uses, split=None, class_names=names,
        schema=train.pointer.resolved_schema, classes=tuple(train.pointer.class_list),
    )  # fmt: skip


def _same_features(train: DataSchema, held: DataSchema, ref: str) -> None:
    """The evaluation set must offer the model exactly the features it trains on, with the same types."""
    want = {feature.name: feature.type.value for feature in train.features}
    got = {feature.name: feature.type.value for feature in held.features}
    if want != got:
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        retyped = sorted(name for name in set(want) & set(got) if want[name] != got[name])
        raise DataFormatError(
            f"eval dataset {ref} does not have the training features: missing {missing or 'none'}, "
            f"extra {extra or 'none'}, other type {retyped or 'none'}",
            hint="evaluate on data with the same schema as the training pointer",
        )
