"""Benchmark: the transformer family (MiniLM fine-tuned) next to the TF-IDF family on Fortuna 2019.

In a copy of the reference project, through the CLI as a user would:
  1. `trunkml ct hate-pt-speech`: the TF-IDF family (params.yaml)            -> v1
  2. switch train.yaml to params-transformer.yaml, commit, `trunkml ct`      -> v2
  3. `trunkml evaluate --champion 1 --challenger 2`: the gate across families
Then it loads v2's stored files and measures inference throughput (texts/s) at batch
64 and 256, in fp32 and bf16, on the best device (CUDA when there is one).

Run:  .venv/bin/python bench/transformer.py                 (3 epochs, the committed params)
      .venv/bin/python bench/transformer.py --epochs 1 --max-steps 40 --texts 512   (a reduced CPU run)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from quality import MIRROR, project, run

console = Console(width=130)
FORTUNA = "2019-05-28_portuguese_hate_speech_hierarchical_classification.csv"
SHOWN = ("precision", "recall", "f1", "macro_f1", "threshold")


def switch_to_transformer(root: Path, epochs: int | None, max_steps: int | None) -> None:
    """Commit what a user commits to change family: train.yaml names params-transformer.yaml."""
    job = root / "jobs/hate-pt-speech"
    spec = job / "train.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("params: params.yaml", "params: params-transformer.yaml"))
    params = yaml.safe_load((job / "params-transformer.yaml").read_text(encoding="utf-8"))
    params.update({k: v for k, v in {"epochs": epochs, "max_steps": max_steps}.items() if v is not None})
    (job / "params-transformer.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.org"]
    subprocess.run([*git, "commit", "-qam", "transformer family"], cwd=root, check=True)


def model_files(root: Path, version: int, target: Path) -> Path:
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{root / '.trunkml' / 'mlflow.db'}")
    local = mlflow.artifacts.download_artifacts(f"models:/hate-pt-speech/{version}", dst_path=str(target))
    return Path(local) / "artifacts" / "model"


def throughput(folder: Path, texts: list[str]) -> list[tuple[str, str, int, float]]:
    """(device, precision, batch, texts/s) for each setting, after one warm-up pass."""
    import torch

    from trunkml.training.families.transformer.classifier import TransformerClassifier
    from trunkml.training.families.transformer.device import pick_device

    device = pick_device()
    precisions = ["fp32", "bf16"] if device.type != "cuda" or torch.cuda.is_bf16_supported() else ["fp32", "fp16"]
    rows = []
    for precision in precisions:
        model = TransformerClassifier.load(folder, precision=precision)
        for batch in (64, 256):
            model.batch_size = batch
            model.scores(texts[:batch])
            if device.type == "cuda":
                torch.cuda.synchronize()
            started = time.perf_counter()
            model.scores(texts)
            if device.type == "cuda":
                torch.cuda.synchronize()
            rows.append((str(device), precision, batch, len(texts) / (time.perf_counter() - started)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, help="override params-transformer.yaml's epochs")
    parser.add_argument("--max-steps", type=int, help="stop fine-tuning after this many steps (a reduced run)")
    parser.add_argument("--texts", type=int, default=4096, help="texts per throughput measurement")
    args = parser.parse_args()
    if not MIRROR.is_dir():
        raise SystemExit(f"needs the real datasets at {MIRROR}")
    with tempfile.TemporaryDirectory(prefix="trunkml-transformer-") as tmp:
        root = project(Path(tmp))
        tfidf, tfidf_s = run(root, "ct", "hate-pt-speech")
        switch_to_transformer(root, args.epochs, args.max_steps)
        bert, bert_s = run(root, "ct", "hate-pt-speech")
        gate, _ = run(root, "evaluate", "--champion", "1", "--challenger", "2")
        shown, _ = run(root, "models", "show", "2")
        folder = model_files(root, 2, Path(tmp) / "v2")
        texts = pd.read_csv(next(MIRROR.rglob(FORTUNA)))["text"].astype(str).tolist()
        texts = (texts * (args.texts // len(texts) + 1))[: args.texts]
        speeds = throughput(folder, texts)
    report(tfidf, tfidf_s, bert, bert_s, gate, shown, speeds)


def report(
    tfidf: dict[str, object],
    tfidf_s: float,
    bert: dict[str, object],
    bert_s: float,
    gate: dict[str, object],
    shown: dict[str, object],
    speeds: list[tuple[str, str, int, float]],
) -> None:
    params, metrics = shown["params"], shown["metrics"]
    assert isinstance(params, dict)
    assert isinstance(metrics, dict)
    quality = Table("family", *SHOWN, "CT wall s", title="Fortuna 2019, eval = seeded stratified 20% (seed 42)")
    for name, result, seconds in (("tfidf (v1)", tfidf, tfidf_s), ("transformer MiniLM (v2)", bert, bert_s)):
        m = result["metrics"]
        assert isinstance(m, dict)
        quality.add_row(name, *(f"{m.get(key, float('nan')):.3f}" for key in SHOWN), f"{seconds:.0f}")
    console.print(quality)
    console.print(
        f"transformer: device {params.get('trunkml.model.device')}, precision {params.get('trunkml.model.precision')}, "
        f"{params.get('trunkml.model.steps')} steps, best epoch {params.get('trunkml.model.best_epoch')}, "
        f"{metrics.get('train.seconds_per_epoch', float('nan')):.1f} s per epoch"
    )
    decision = gate["decision"]
    assert isinstance(decision, dict)
    console.print(
        f"gate v2 (transformer) vs v1 (tfidf): {'PROMOTE' if decision['promote'] else 'REJECT'}; "
        f"recall difference {decision.get('difference')}, p = {decision.get('p_value')} "
        f"(b={decision.get('b')}, c={decision.get('c')}); reasons: {'; '.join(decision.get('reasons', []))}"
    )
    speed = Table("device", "precision", "batch", "texts/s", title="inference throughput (v2, stored files)")
    for device, precision, batch, per_second in speeds:
        speed.add_row(device, precision, str(batch), f"{per_second:,.0f}")
    console.print(speed)


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    main()
