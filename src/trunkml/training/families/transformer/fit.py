"""Fine-tuning: class-weighted cross-entropy on token windows, best epoch and threshold from held-out rows.

A stratified ``validation_fraction`` of the training rows is held out. After each epoch
the model scores them (windows aggregated per text, exactly as in serving); the epoch
with the best average precision is kept, and the decision threshold is tuned on its
scores toward ``threshold_objective``. The evaluation set is never seen here.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import average_precision_score
from sklearn.model_selection import train_test_split
from transformers import PreTrainedModel, get_linear_schedule_with_warmup, set_seed
from transformers.utils import logging as hf_logging

from trunkml.errors import ConfigError, TrainingFailedError
from trunkml.training import ModelPackage, TrainingJob
from trunkml.training.families.packaging import pinned
from trunkml.training.families.threshold import tune_threshold
from trunkml.training.families.transformer import baseline as baselines
from trunkml.training.families.transformer.classifier import TransformerClassifier, Windows, encode, pad
from trunkml.training.families.transformer.device import (
    autocast,
    free_memory,
    halving_once,
    pick_device,
    pick_precision,
)
from trunkml.training.families.transformer.settings import TransformerParams

SERVING_REQUIREMENTS = ("mlflow", "numpy", "pandas", "torch", "transformers", "tokenizers", "safetensors", "trunkml")
log = logging.getLogger("trunkml.training.families.transformer")


@dataclass
class Best:
    """The best epoch so far: its held-out scores and a CPU copy of its weights."""

    epoch: int = 0
    average_precision: float = -1.0
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    state: dict[str, torch.Tensor] = field(default_factory=dict)


class Trainer:
    """AdamW with linear warm-up and decay, mixed precision, and one halving of the micro-batch on out-of-memory.

    A step always covers ``batch_size`` windows; after an out-of-memory error it is
    computed in micro-batches of half the size with gradients accumulated, so the
    optimisation itself does not change.
    """

    def __init__(
        self, network: PreTrainedModel, params: TransformerParams, weights: torch.Tensor, pad_id: int, total_steps: int
    ) -> None:
        self.network, self.params, self.weights, self.pad_id = network, params, weights, pad_id
        self.device = next(network.parameters()).device
        self.precision = pick_precision(self.device, params.precision)
        self.micro = params.batch_size
        # No weight decay on biases and normalisation weights (LayerNorm, layer_norm, RMSNorm, ...).
        exempt = {n for n, _ in network.named_parameters() if n.endswith("bias") or "norm" in n.lower()}
        decay = [p for n, p in network.named_parameters() if n not in exempt]
        rest = [p for n, p in network.named_parameters() if n in exempt]
        self.optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": params.weight_decay}, {"params": rest, "weight_decay": 0.0}],
            lr=params.learning_rate,
        )
        self.schedule = get_linear_schedule_with_warmup(
            self.optimizer, int(params.warmup_ratio * total_steps), total_steps
        )
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.precision == "fp16")

    def step(self, ids: list[list[int]], labels: torch.Tensor) -> float:
        """One optimisation step over ``ids``; returns the batch's weighted mean loss.

        Only the forward and backward passes are retried after out-of-memory (they start
        from zeroed gradients); the optimizer step runs once, after them.
        """
        loss, self.micro = halving_once(
            lambda size: self._accumulate(ids, labels, size), self.micro, self.device, "training"
        )
        try:
            self._apply()
        except torch.OutOfMemoryError as exc:
            raise TrainingFailedError(
                f"out of memory on {self.device} in the optimizer step (its state holds two copies of the weights)",
                hint="use a smaller baseline or a device with more memory; halving the batch does not help here",
            ) from exc
        return loss

    def _accumulate(self, ids: list[list[int]], labels: torch.Tensor, micro: int) -> float:
        self.optimizer.zero_grad(set_to_none=True)
        total_weight = self.weights[labels].sum()
        loss_sum = 0.0
        for start in range(0, len(ids), micro):
            batch = pad(ids[start : start + micro], self.pad_id, self.device)
            targets = labels[start : start + micro].to(self.device)
            with autocast(self.device, self.precision):
                logits = self.network(**batch).logits
            loss = F.cross_entropy(logits.float(), targets, weight=self.weights, reduction="sum") / total_weight
            self.scaler.scale(loss).backward()
            loss_sum += float(loss.detach())
        return loss_sum

    def _apply(self) -> None:
        self.scaler.unscale_(self.optimizer)
        torch.nn.utils.clip_grad_norm_(self.network.parameters(), self.params.max_grad_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.schedule.step()


def _held_out(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rows = np.arange(len(labels))
    try:
        fit, held = train_test_split(rows, test_size=fraction, stratify=labels, random_state=seed)
    except ValueError as exc:
        raise ConfigError(
            f"cannot hold out {fraction:.0%} of {len(labels)} training rows with both classes in each part: {exc}",
            hint="the transformer family needs a few rows of each class; add rows or raise validation_fraction",
        ) from exc
    return np.sort(fit), np.sort(held)


def _class_weights(labels: torch.Tensor, how: str, device: torch.device) -> torch.Tensor:
    """``balanced``: n / (2 · count per class) over the training windows (the loss averages over windows)."""
    counts = np.bincount(labels.numpy(), minlength=2).astype(np.float64)
    weights = len(labels) / (2 * np.maximum(counts, 1)) if how == "balanced" else np.ones(2)
    return torch.tensor(weights, dtype=torch.float32, device=device)


def _baseline(params: TransformerParams, texts: list[str], job: TrainingJob) -> baselines.Baseline:
    if params.baseline == "scratch":
        job.report("training a WordPiece tokenizer and building a small BERT from scratch")
        return baselines.build_scratch(texts, params.scratch, params.max_length, job.workdir / "scratch-baseline")
    return baselines.resolve(params.baseline, job.project_root, params.baseline_revision)


def _windows(classifier: TransformerClassifier, texts: list[str], labels: np.ndarray) -> tuple[Windows, torch.Tensor]:
    windows = encode(classifier.tokenizer, texts, classifier.max_length, classifier.window_overlap)
    return windows, torch.tensor(labels[windows.owners], dtype=torch.long)


def total_steps(params: TransformerParams, windows: int) -> int:
    """Optimisation steps: every window once per epoch, capped by ``max_steps``."""
    planned = params.epochs * math.ceil(windows / params.batch_size)
    return min(planned, params.max_steps or planned)


def _epochs(
    trainer: Trainer,
    windows: Windows,
    targets: torch.Tensor,
    held_out: Callable[[], np.ndarray],
    held_labels: np.ndarray,
    job: TrainingJob,
) -> tuple[Best, list[float]]:
    """Run the epochs (or ``max_steps``), scoring the held-out rows after each; return the best and epoch times."""
    params = trainer.params
    total = total_steps(params, len(windows))
    generator = torch.Generator().manual_seed(job.seed)
    best, seconds, done = Best(), [], 0
    for epoch in range(1, params.epochs + 1):
        started, losses = time.perf_counter(), []
        trainer.network.train()
        order = torch.randperm(len(windows), generator=generator)
        for start in range(0, len(order), params.batch_size):
            rows = order[start : start + params.batch_size]
            losses.append(trainer.step([windows.ids[row] for row in rows.tolist()], targets[rows]))
            done += 1
            job.progress(f"fine-tuning: epoch {epoch}/{params.epochs}, loss {np.mean(losses[-20:]):.3f}", done, total)
            if done >= total:
                break
        seconds.append(time.perf_counter() - started)
        scores = held_out()
        average_precision = float(average_precision_score(held_labels, scores))
        job.report(f"epoch {epoch}: loss {np.mean(losses):.4f}, held-out average precision {average_precision:.4f}")
        if best.epoch == 0 or average_precision > best.average_precision:
            state = {key: value.detach().cpu().clone() for key, value in trainer.network.state_dict().items()}
            best = Best(epoch, average_precision, scores, state)
        if done >= total:
            break
    return best, seconds


def fine_tune(job: TrainingJob) -> ModelPackage:
    """Fine-tune the baseline on the training rows; tune the threshold on held-out rows; package safely."""
    params = TransformerParams.parse(job.params)
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    set_seed(job.seed, deterministic=params.deterministic)
    texts = job.train["text"].astype(str).tolist()
    labels = job.train["label"].to_numpy(dtype=np.int64)
    fit_rows, held_rows = _held_out(labels, params.validation_fraction, job.seed)
    fit_texts, held_texts = [texts[i] for i in fit_rows], [texts[i] for i in held_rows]
    source = _baseline(params, fit_texts, job)
    job.report(f"loading the baseline ({source.kind}) {source.source}")
    device = pick_device(params.device)
    tokenizer, network = baselines.load(source, params.max_length, job.report)
    classifier = TransformerClassifier(
        network.to(device),  # type: ignore[arg-type]  # transformers annotates .to() for dtypes only
        tokenizer, 0.5, params.max_length, params.window_overlap, params.window_aggregate,
        params.eval_batch_size, device, pick_precision(device, params.inference_precision),
    )  # fmt: skip
    windows, targets = _windows(classifier, fit_texts, labels[fit_rows])
    total = total_steps(params, len(windows))
    weights = _class_weights(targets, params.class_weights, device)
    trainer = Trainer(network, params, weights, int(tokenizer.pad_token_id), total)
    job.report(f"fine-tuning on {device} ({classifier.precision}): {len(windows)} windows, {total} steps")
    best, seconds = _epochs(trainer, windows, targets, lambda: classifier.scores(held_texts), labels[held_rows], job)
    network.load_state_dict(best.state)
    free_memory(device)
    threshold, chosen = tune_threshold(
        labels[held_rows], best.scores, params.threshold_objective, params.precision_floor
    )
    classifier.threshold = threshold
    classifier.batch_size = params.eval_batch_size  # not a size halved by a transient out-of-memory
    classifier.save(job.workdir / "model", params.inference_precision)
    return ModelPackage(
        python_model=Path(__file__).resolve().parent / "pyfunc.py",
        artifacts={"model": job.workdir / "model"},
        pip_requirements=pinned(SERVING_REQUIREMENTS),
        params={
            "threshold": threshold,
            "baseline": source.source if source.kind == "hub" else params.baseline,
            "baseline_kind": source.kind,
            "baseline_revision": str(getattr(network.config, "_commit_hash", None) or source.revision or "-"),
            "device": str(device),
            "precision": trainer.precision,
            "inference_precision": classifier.precision,
            "parameters": sum(p.numel() for p in network.parameters()),
            "train_windows": len(windows),
            "steps": total,
            "micro_batch": trainer.micro,
            "best_epoch": best.epoch,
        },
        metrics={
            **{key.replace("oof_", "heldout_"): value for key, value in chosen.items()},
            "heldout_average_precision": best.average_precision,
            "seconds_per_epoch": float(np.mean(seconds)),
        },
    )
