"""A fine-tuned classifier for inference: windows long texts, scores in batches, aggregates per text.

Saved as ``save_pretrained`` output (``config.json``, ``model.safetensors``, the tokenizer's
JSON files) plus ``classifier.json`` with the threshold and windowing settings: no pickle.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedModel
from transformers.tokenization_utils_base import PreTrainedTokenizerBase
from transformers.utils import logging as hf_logging

from trunkml.training.families.transformer.device import autocast, halving_once, pick_device, pick_precision

SETTINGS_FILE = "classifier.json"


@dataclass
class Windows:
    """Token windows of a batch of texts: ``owners[i]`` is the text window ``i`` came from."""

    ids: list[list[int]]
    owners: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


def encode(tokenizer: PreTrainedTokenizerBase, texts: list[str], max_length: int, overlap: int) -> Windows:
    """Split every text into windows of at most ``max_length`` tokens that overlap by ``overlap`` tokens."""
    encoded = tokenizer(
        texts, truncation=True, max_length=max_length, stride=overlap, return_overflowing_tokens=True, padding=False
    )
    return Windows(list(encoded["input_ids"]), np.asarray(encoded["overflow_to_sample_mapping"], dtype=np.int64))


def pad(ids: list[list[int]], pad_id: int, device: torch.device) -> dict[str, torch.Tensor]:
    """Right-pad token id lists to the longest one; the attention mask marks the real tokens."""
    width = max(len(row) for row in ids)
    input_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for row, tokens in enumerate(ids):
        input_ids[row, : len(tokens)] = torch.tensor(tokens, dtype=torch.long)
        mask[row, : len(tokens)] = 1
    return {"input_ids": input_ids.to(device), "attention_mask": mask.to(device)}


def aggregate(window_scores: np.ndarray, owners: np.ndarray, count: int, how: str) -> np.ndarray:
    """One score per text from its windows' scores: the highest (``max``) or the average (``mean``)."""
    if how == "max":
        result = np.zeros(count)
        np.maximum.at(result, owners, window_scores)
        return result
    totals = np.bincount(owners, weights=window_scores, minlength=count)
    return totals / np.maximum(np.bincount(owners, minlength=count), 1)


@dataclass
class TransformerClassifier:
    """Tokenizer + sequence classifier + decision threshold; ``scores`` gives P(positive) per text."""

    network: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    threshold: float
    max_length: int = 128
    window_overlap: int = 32
    window_aggregate: str = "max"
    batch_size: int = 64
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    precision: str = "fp32"

    def window_scores(self, windows: Windows) -> np.ndarray:
        """P(positive) per window, in batches of similar length, halving the batch once on out-of-memory."""
        order = np.argsort([-len(ids) for ids in windows.ids], kind="stable")
        scores, self.batch_size = halving_once(
            lambda size: self._score_sorted(windows.ids, order, size), self.batch_size, self.device, "scoring"
        )
        return scores

    def _score_sorted(self, ids: list[list[int]], order: np.ndarray, batch_size: int) -> np.ndarray:
        scores = np.zeros(len(ids))
        pad_id = int(self.tokenizer.pad_token_id)
        self.network.eval()
        with torch.inference_mode(), autocast(self.device, self.precision):
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                logits = self.network(**pad([ids[row] for row in rows], pad_id, self.device)).logits
                scores[rows] = torch.softmax(logits.float(), dim=-1)[:, 1].cpu().numpy()
        return scores

    def scores(self, texts: list[str]) -> np.ndarray:
        """P(positive) for each text: its windows' scores aggregated (the highest, by default)."""
        if not texts:
            return np.zeros(0)
        windows = encode(self.tokenizer, texts, self.max_length, self.window_overlap)
        return aggregate(self.window_scores(windows), windows.owners, len(texts), self.window_aggregate)

    def predict(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(labels, scores): label 1 where the score reaches the threshold."""
        scores = self.scores(texts)
        return (scores >= self.threshold).astype(np.int64), scores

    def settings(self, precision: str | None = None) -> dict[str, Any]:
        """What ``classifier.json`` records besides the weights and tokenizer."""
        return {
            "threshold": self.threshold,
            "precision": precision or self.precision,
            "max_length": self.max_length,
            "window_overlap": self.window_overlap,
            "window_aggregate": self.window_aggregate,
            "batch_size": self.batch_size,
        }

    def save(self, folder: Path, precision: str | None = None) -> None:
        """Write weights (safetensors), tokenizer (JSON) and settings to ``folder``.

        ``precision`` is what serving should use (``auto`` resolves on the serving machine);
        by default, the one these scores were computed in.
        """
        folder.mkdir(parents=True, exist_ok=True)
        self.network.save_pretrained(folder, safe_serialization=True)
        self.tokenizer.save_pretrained(folder)
        (folder / SETTINGS_FILE).write_text(json.dumps(self.settings(precision), indent=2), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, device: str = "auto", precision: str | None = None) -> TransformerClassifier:
        """Read a classifier written by :meth:`save` onto the best device (safetensors only, no pickle).

        ``precision`` defaults to the recorded one, so served scores match those the threshold
        was tuned and the gate evaluated on.
        """
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        stored = json.loads((folder / SETTINGS_FILE).read_text(encoding="utf-8"))
        chosen = pick_device(device)
        network = AutoModelForSequenceClassification.from_pretrained(
            folder, use_safetensors=True, local_files_only=True
        )
        return cls(
            network=network.to(chosen).eval(),
            tokenizer=AutoTokenizer.from_pretrained(folder, local_files_only=True),
            threshold=float(stored["threshold"]),
            max_length=int(stored["max_length"]),
            window_overlap=int(stored["window_overlap"]),
            window_aggregate=str(stored["window_aggregate"]),
            batch_size=int(stored["batch_size"]),
            device=chosen,
            precision=pick_precision(chosen, precision or str(stored.get("precision", "fp32"))),
        )
