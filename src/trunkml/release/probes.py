"""Infra validation's request set: normal inputs (from the eval set when readable), edge cases, a full
batch, and requests just over the endpoint's limits, which must be refused with a 4xx.

A text model gets texts. A model of several features gets records from the eval set, edge records
built from the schema (extremes, missing optional values), and invalid records that must be refused
with a 422: a missing feature, an unknown field, text in a numeric field, an unseen category."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from trunkml.config import Settings, load_project
from trunkml.datasets import DataService
from trunkml.datasets.schema import DataSchema, FeatureType, json_records
from trunkml.errors import TrunkmlError
from trunkml.serving.predlog import canonical_json
from trunkml.serving.served_model import smoke_rows
from trunkml.serving.spec import EndpointSpec

Report = Callable[[str], None]
EVAL_TEXTS = 40
NORMAL_TEXTS = (
    "bom dia a todos, que tenham um ótimo fim de semana",
    "o jogo de ontem foi muito bom, parabéns à equipa",
    "não concordo com a decisão do governo sobre os impostos",
    "alguém sabe a que horas abre a biblioteca amanhã?",
    "vocês são uns nojentos, saiam daqui",
    "essa gente não presta, deviam voltar para a terra deles",
    "adorei o concerto, a banda tocou todas as músicas",
    "que vergonha de comentário, respeitem as pessoas",
)
EDGE_TEXTS = (
    "",
    " ",
    "a",
    "🙂🙂🙂",
    "Olá\nmundo\t!",
    "<script>alert(1)</script>",
    "@usuario http://t.co/abc #tag RT",
    "1234567890",
    "a\u200bb\u200bc",
    "c\u0327a\u0303o",  # combining accents
    "مرحبا بالعالم",
    "ÇÃO MAIÚSCULAS E ACENTOS ÁÉÍÓÚ",
)


@dataclass(frozen=True)
class Probe:
    """One canned request: its JSON body, whether it is within the limits, and what it is."""

    kind: str
    body: dict[str, Any]
    valid: bool = True

    @property
    def texts(self) -> list[Any]:
        """The inputs it sends: texts, or records."""
        if "text" in self.body:
            return [self.body["text"]]
        return list(self.body["texts"] if "texts" in self.body else self.body["inputs"])


def input_key(value: Any) -> str:
    """A hashable key for one input (a text as is, a record as canonical JSON)."""
    return value if isinstance(value, str) else canonical_json(value)


def texts_from_eval(settings: Settings, report: Report) -> list[str]:
    """Up to EVAL_TEXTS texts of the project's eval set (a text model's), picked with a fixed seed."""
    inputs, schema = eval_inputs(settings, report)
    return inputs if schema is None or schema.single_text is not None else []


def eval_inputs(settings: Settings, report: Report) -> tuple[list[Any], DataSchema | None]:
    """Up to EVAL_TEXTS inputs (texts or records) of the eval set, picked with a fixed seed, and its schema."""
    eval_ref = load_project(settings.project_root).gate.eval
    if not eval_ref:
        return [], None
    try:
        loaded = DataService(settings).load(eval_ref)
    except TrunkmlError as exc:
        report(f"canned texts: the eval set is not readable ({exc.message}); using the built-in texts only")
        return [], None
    schema = loaded.pointer.resolved_schema
    single = schema.single_text
    inputs: list[Any] = (
        [str(t) for t in loaded.features()[single].tolist()] if single else json_records(loaded.features())
    )
    picked = np.random.default_rng(0).choice(len(inputs), size=min(EVAL_TEXTS, len(inputs)), replace=False)
    return [inputs[i] for i in sorted(picked.tolist())], schema


def probes_for(spec: EndpointSpec, settings: Settings, report: Report) -> list[Probe]:
    """The request set for the project's model: records for a model of several features, else texts."""
    inputs, schema = eval_inputs(settings, report)
    if schema is not None and schema.single_text is None and inputs:
        return record_probes(spec, inputs, schema)
    return canned_probes(spec, [str(text) for text in inputs] + list(NORMAL_TEXTS))


def record_probes(spec: EndpointSpec, normal: list[dict[str, Any]], schema: DataSchema) -> list[Probe]:
    """Probes for a model of several features (see the module docstring)."""
    limits, budget = spec.limits, spec.infra_validation
    probes = [Probe("single", {"inputs": [normal[i % len(normal)]]}) for i in range(max(budget.single_requests, 1))]
    probes += [Probe("edge", {"inputs": [record]}) for record in smoke_rows(schema)]
    probes.append(Probe("max batch", {"inputs": [normal[i % len(normal)] for i in range(limits.max_batch_texts)]}))
    first = schema.features[0].name
    invalid = {
        "missing feature": {k: v for k, v in normal[0].items() if k != first},
        "unknown field": {**normal[0], "not_a_feature": 1},
    }
    numeric = schema.of_type(FeatureType.NUMERIC)
    if numeric:
        invalid["text in a numeric field"] = {**normal[0], numeric[0].name: "x" * 1000}
    closed = [f for f in schema.of_type(FeatureType.CATEGORICAL) if not f.open]
    if closed:
        invalid["unseen category"] = {**normal[0], closed[0].name: "\u0000never-seen"}
    probes += [Probe(kind, {"inputs": [record]}, valid=False) for kind, record in invalid.items()]
    probes.append(Probe("over the batch limit", {"inputs": normal[:1] * (limits.max_batch_texts + 1)}, valid=False))
    return probes


def canned_probes(spec: EndpointSpec, normal: list[str]) -> list[Probe]:
    """The request set: single normal texts, edge cases, a full batch, and just-over-the-limit requests."""
    limits, budget = spec.limits, spec.infra_validation
    fitting = [text[: limits.max_text_chars] for text in normal] or list(NORMAL_TEXTS)
    probes = [
        Probe("single", {"text": fitting[i % len(fitting)]}) for i in range(max(budget.single_requests, len(fitting)))
    ]
    longest = ("palavra " * (limits.max_text_chars // 8 + 1))[: limits.max_text_chars]
    probes += [Probe("edge", {"text": text[: limits.max_text_chars]}) for text in (*EDGE_TEXTS, longest)]
    batch = [fitting[i % len(fitting)] for i in range(limits.max_batch_texts)]
    if len(json.dumps({"texts": batch}).encode()) <= limits.max_body_bytes:
        probes.append(Probe("max batch", {"texts": batch}))
    probes.append(Probe("over the text limit", {"text": "x" * (limits.max_text_chars + 1)}, valid=False))
    probes.append(Probe("over the batch limit", {"texts": ["a"] * (limits.max_batch_texts + 1)}, valid=False))
    return probes
