"""Infra validation's request set: normal texts (from the eval set when readable), edge cases, a full
batch, and requests just over the endpoint's limits, which must be refused with a 4xx."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from trunkml.config import Settings, load_project
from trunkml.datasets import DataService
from trunkml.errors import TrunkmlError
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
    def texts(self) -> list[str]:
        return [self.body["text"]] if "text" in self.body else list(self.body["texts"])


def texts_from_eval(settings: Settings, report: Report) -> list[str]:
    """Up to EVAL_TEXTS texts of the project's eval set, chosen with a fixed seed (none when unreadable)."""
    eval_ref = load_project(settings.project_root).gate.eval
    if not eval_ref:
        return []
    try:
        frame = DataService(settings).load(eval_ref).frame
    except TrunkmlError as exc:
        report(f"canned texts: the eval set is not readable ({exc.message}); using the built-in texts only")
        return []
    texts = [str(text) for text in frame["text"].tolist()]
    picked = np.random.default_rng(0).choice(len(texts), size=min(EVAL_TEXTS, len(texts)), replace=False)
    return [texts[i] for i in sorted(picked.tolist())]


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
