"""The reference model: safe save/load, windowing of long texts, threshold tuning."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "src"))

from hatedetection.train import train, tune_threshold
from trunkml.training import ModelPackage, TrainingJob
from trunkml.training.families.tfidf import features
from trunkml.training.families.tfidf.model import TfidfClassifier, windows

TEXTS = [f"odeio os zorbanos {i}" for i in range(30)] + [f"que dia lindo na praia {i}" for i in range(70)]
LABELS = [1] * 30 + [0] * 70


@pytest.fixture
def package(tmp_path: Path) -> ModelPackage:
    frame = pd.DataFrame({"text": TEXTS, "label": LABELS})
    job = TrainingJob(
        train=frame, params={"cv_folds": 2, "char_min_df": 1, "precision_floor": 0.5}, seed=1, workdir=tmp_path
    )
    return train(job)


def test_training_returns_a_model_from_code_with_safe_artifacts(package: ModelPackage) -> None:
    assert package.python_model.name == "pyfunc_model.py"
    stored = sorted(path.name for path in package.artifacts["model"].iterdir())
    assert stored == ["char.json", "char_idf.npz", "linear.npz", "model.json", "word.json", "word_idf.npz"]
    assert not any(name.endswith((".pkl", ".pickle", ".joblib")) for name in stored)
    assert 0 < package.params["threshold"] < 1
    assert {"oof_precision", "oof_recall", "oof_f1"} <= set(package.metrics)
    assert any(req.startswith("scikit-learn==") for req in package.pip_requirements)


def test_save_load_round_trip_scores_identically(package: ModelPackage, tmp_path: Path) -> None:
    model = TfidfClassifier.load(package.artifacts["model"])
    labels, scores = model.predict(["odeio os zorbanos", "que dia lindo"])
    assert labels.tolist() == [1, 0]
    model.save(tmp_path / "copy")
    again = TfidfClassifier.load(tmp_path / "copy")
    np.testing.assert_allclose(again.scores(["odeio os zorbanos", "que dia lindo"]), scores)


def test_long_texts_score_their_worst_window(package: ModelPackage) -> None:
    model = TfidfClassifier.load(package.artifacts["model"])
    filler = " ".join(["que dia lindo na praia"] * 12)
    long_text = f"{filler} odeio os zorbanos {filler}"
    model.window_words, model.window_stride = 1000, 1000
    diluted = model.scores([long_text])[0]
    model.window_words, model.window_stride = 8, 6
    windowed = model.scores([long_text])[0]
    assert windowed > diluted
    assert windowed > model.scores([filler])[0]


def test_windows_cover_every_word() -> None:
    text = " ".join(str(i) for i in range(20))
    parts = windows(text, size=8, stride=6)
    assert parts[0].split()[0] == "0"
    assert parts[-1].split()[-1] == "19"
    assert windows("curto", 8, 6) == ["curto"]


def test_threshold_objectives() -> None:
    labels = np.array([1, 1, 1, 0, 0, 0, 0, 0])
    scores = np.array([0.9, 0.8, 0.3, 0.7, 0.2, 0.1, 0.1, 0.05])
    high_recall, chosen = tune_threshold(labels, scores, "recall_at_precision", 0.6)
    assert high_recall == pytest.approx(0.3)
    assert chosen["oof_recall"] == 1.0
    strict, _ = tune_threshold(labels, scores, "recall_at_precision", 1.0)
    assert strict == pytest.approx(0.8)
    with pytest.raises(ValueError, match="unknown threshold objective"):
        tune_threshold(labels, scores, "accuracy", 0.5)


@pytest.mark.parametrize("sublinear", [True, False])
def test_fast_tfidf_equals_sklearns_transform(sublinear: bool) -> None:
    vectorizers = features.make_vectorizers({"char_min_df": 1})
    for vectorizer in vectorizers.values():
        vectorizer.set_params(sublinear_tf=sublinear)
    features.fit_transform(vectorizers, TEXTS)
    texts = ["", "odeio odeio os zorbanos!!", "zzz qqq", "Que dia LINDO na praia 7", "\u00e9 \u00e7 \u00e3o " * 40]
    for vectorizer in vectorizers.values():
        ours, theirs = features.tfidf(vectorizer, texts), vectorizer.transform(texts)
        assert (ours.shape, ours.dtype) == (theirs.shape, theirs.dtype)
        assert np.abs((ours - theirs).toarray()).max() < 1e-6
    assert features.tfidf(vectorizers["word"], ["qqq"]).nnz == 0  # nothing known: an all-zero row, not NaN


@pytest.mark.parametrize(
    "text",
    [
        "odeio os zorbanos",
        "que dia lindo na praia",
        "",
        "🙂 ÇÃO",
        " ".join(["que dia lindo"] * 40) + " odeio os zorbanos",
    ],
)
def test_explanations_add_up_to_the_logit(package: ModelPackage, text: str) -> None:
    model = TfidfClassifier.load(package.artifacts["model"])
    explained = model.explain(text, top_k=3)
    listed = sum(c["weight"] for c in explained["toward"] + explained["against"])
    assert explained["base"] + listed + explained["rest"] == pytest.approx(explained["value"], abs=1e-9)
    score = float(model.scores([text])[0])
    assert 1 / (1 + np.exp(-explained["value"])) == pytest.approx(score, abs=1e-6)  # the logit behind the score
    assert len(explained["toward"]) <= 3
    assert len(explained["against"]) <= 3
    everything = model.explain(text, top_k=100_000)  # every contribution listed: nothing left over
    assert everything["rest"] == pytest.approx(0.0, abs=1e-12)
    window = max(windows(text, model.window_words, model.window_stride), key=lambda w: model.scores([w])[0])
    logit = float((features.transform(model.vectorizers, [window]) @ model.coef)[0] + model.intercept)
    total = everything["base"] + sum(c["weight"] for c in everything["toward"] + everything["against"])
    assert total == pytest.approx(logit, abs=1e-6)
    assert all(c["weight"] > 0 for c in explained["toward"])
    assert all(c["weight"] < 0 for c in explained["against"])


def test_the_hateful_words_explain_a_hateful_text(package: ModelPackage) -> None:
    model = TfidfClassifier.load(package.artifacts["model"])
    toward = [c["feature"] for c in model.explain("odeio os zorbanos", top_k=5)["toward"]]
    assert any("odeio" in feature or "zorbanos" in feature for feature in toward), toward
