"""A model version ready to serve: verified files, a passed smoke query, and its own batcher.

Loading is blocking work (download, hash, start the model's process); the server
runs it on a thread beside the model that keeps serving. A candidate is refused, with the
reason a person needs, if its files differ from the digests recorded at
registration, if it does not load, or if it does not answer a smoke query as its
task requires: one label in {0, 1} and a score in [0, 1] (binary), one of its K
classes with probabilities that sum to 1 (multi-class), or one finite prediction
(regression) per input.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from trunkml.config.classes import DEFAULT_CLASS_NAMES
from trunkml.datasets.schema import DataSchema, FeatureType
from trunkml.errors import CandidateRefused, IntegrityError, UnavailableError
from trunkml.registry import Registry, show
from trunkml.registry.model_inputs import SCHEMA_KEY
from trunkml.registry.model_process import ModelProcess
from trunkml.serving.batching import MicroBatcher

SMOKE_TEXTS = ["", "bom dia a todos", "Olá! Isto é uma frase de verificação com acentuação e emoji 🙂. " * 20]


@dataclass(frozen=True)
class ModelInfo:
    """What the server tells about a served version (``/model``, the status page, headers)."""

    name: str
    version: int
    role: str
    ref: str
    git_sha: str | None
    model_digest: str
    artifact_digests: dict[str, str]
    run_id: str | None
    classes: tuple[str, str] = DEFAULT_CLASS_NAMES
    """The names of label 0 and label 1, from the version's training pointer."""
    schema: DataSchema | None = None
    """The features the model takes (from its MLmodel metadata); None or one text feature: a text model."""
    class_list: tuple[str, ...] = ()
    """Every class name in label order (multi-class models; binary ones have ``classes``)."""
    loaded_at: float = field(default_factory=time.time)

    @property
    def task(self) -> str:
        """binary, multiclass or regression (binary for models trained before tasks)."""
        return self.schema.task if self.schema is not None else "binary"

    @property
    def n_classes(self) -> int | None:
        """K for a multi-class model whose class names are known."""
        return len(self.class_list) if self.task == "multiclass" and self.class_list else None


def smoke_rows(schema: DataSchema | None) -> list[Any]:
    """Texts for a text model; for others, one record per kind of edge: typical, extreme, missing optionals."""
    if schema is None or schema.single_text is not None:
        return list(SMOKE_TEXTS)
    typical: dict[str, Any] = {}
    for feature in schema.features:
        if feature.type is FeatureType.NUMERIC:
            typical[feature.name] = 0.0
        elif feature.type is FeatureType.BOOLEAN:
            typical[feature.name] = False
        elif feature.type is FeatureType.CATEGORICAL:
            typical[feature.name] = feature.categories[0] if feature.categories else "unseen"
        else:
            typical[feature.name] = SMOKE_TEXTS[1]
    extreme = {k: (1e12 if isinstance(v, float) else v) for k, v in typical.items()}
    sparse = {f.name: (None if f.nullable else typical[f.name]) for f in schema.features}
    return [typical, extreme, sparse]


def schema_of(metadata: dict[str, Any]) -> DataSchema | None:
    """The schema a model recorded in its metadata (None for models trained before schemas)."""
    found = metadata.get(SCHEMA_KEY)
    return DataSchema.model_validate(found) if isinstance(found, dict) else None


def _smoke(model: ModelProcess, n_classes: int | None) -> None:
    rows = smoke_rows(schema_of(model.metadata))
    answers = model.answer(rows)
    if len(answers) != len(rows) or len(answers.labels) != len(rows):
        raise ValueError(f"answered {len(answers.labels)} labels and {len(answers)} scores for {len(rows)} inputs")
    problem = answers.problem(n_classes)
    if problem:
        raise ValueError(problem)


def load_candidate(
    registry: Registry, name: str, version: int, role: str, ref: str, answer_timeout_s: float = 60.0
) -> tuple[ModelProcess, ModelInfo]:
    """Download, verify, load and smoke-query ``name`` version ``version`` (blocking).

    A model process that takes longer than ``answer_timeout_s`` for one batch is killed (and then reloaded).
    """
    try:
        record = show(registry, name, str(version))
        model = ModelProcess(registry, name, version, answer_timeout_s=answer_timeout_s)
    except IntegrityError as exc:
        raise CandidateRefused(f"{name} v{version}: {exc.message}", reason="verify") from exc
    except UnavailableError:  # the store, not the model: not a refusal; the follower tries again on its next poll
        raise
    except Exception as exc:  # any exception the model's own code raises while loading
        raise CandidateRefused(f"{name} v{version} failed to load: {type(exc).__name__}: {exc}", reason="load") from exc
    schema = schema_of(model.metadata)
    class_list = record.class_list if schema is not None and schema.task == "multiclass" else ()
    try:
        _smoke(model, len(class_list) or None)
    except Exception as exc:  # a model that cannot answer must not serve
        model.close()
        raise CandidateRefused(f"{name} v{version} failed its smoke query: {exc}", reason="smoke") from exc
    info = ModelInfo(
        name=name,
        version=version,
        role=role,
        ref=ref,
        git_sha=record.git_sha,
        model_digest=model.digest,
        artifact_digests=record.artifact_digests,
        run_id=record.run_id,
        classes=record.class_names,
        schema=schema,
        class_list=class_list,
    )
    return model, info


class ServedModel:
    """A loaded version with its batcher; requests hold a reference until their answer arrives."""

    def __init__(self, model: ModelProcess, info: ModelInfo, batcher: MicroBatcher) -> None:
        self.model = model
        self.info = info
        self.batcher = batcher
        self.version_text = str(info.version)

    async def retire(self) -> None:
        """Answer what is queued, then free the model's files."""
        await self.batcher.close()
        self.model.close()
