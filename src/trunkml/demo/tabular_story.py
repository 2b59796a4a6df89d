"""``trunkml demo --example tabular``: the same trunk-based story for a model of table columns.

The data is scikit-learn's bundled breast-cancer set (a real dataset that ships inside the
scikit-learn wheel: nothing is downloaded), with a categorical and a boolean column derived
from it and an identifier column the schema excludes. The project is what ``trunkml init``
renders for tabular inputs. Commit A trains a deliberately weak logistic regression, which
passes the cold-start floors and waits for a reviewer; commit B switches to gradient
boosting, which the gate promotes and the server hot-swaps to under record traffic; commit C
regresses and is rejected. Then a rollback, held-out records with feedback, and the monitor,
which judges drift per feature.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from trunkml.config import Settings
from trunkml.config.settings import PROJECT_FILE
from trunkml.datasets import DataService
from trunkml.datasets.adding import AddRequest, add_dataset, add_split
from trunkml.datasets.schema import json_records
from trunkml.datasets.split import SplitSpec
from trunkml.demo.demoproject import MODEL, add_reviewer, demo_template, fresh_workdir, git, set_params, write_files
from trunkml.demo.story import NO_COMMIT, DemoReport, Emit, Report, _Story, play_close
from trunkml.errors import RefusedError
from trunkml.scaffold.render import model_files, package_name, render

DATASET = "demo-cancer"
PARAMS_A = {"model": "logistic_regression", "C": "0.0006"}
PARAMS_B = {"model": "hist_gradient_boosting"}
PARAMS_C = {"max_iter": "3", "learning_rate": "0.02"}


def cancer_frame() -> pd.DataFrame:
    """The breast-cancer data with ``diagnosis`` as text, plus ``size`` (categorical), ``smooth`` and ``patient``."""
    from sklearn.datasets import load_breast_cancer

    frame: pd.DataFrame = load_breast_cancer(as_frame=True).frame
    frame.insert(0, "patient", [f"p{i:04d}" for i in range(len(frame))])
    frame["diagnosis"] = frame.pop("target").map({0: "malignant", 1: "benign"})
    frame["size"] = np.where(frame["mean radius"] > 14, "large", "small")
    frame["smooth"] = np.where(frame["mean smoothness"] < 0.1, "yes", "no")
    return frame


def prepare_tabular_workdir(workdir: Path) -> None:
    """A fresh git workspace holding the tabular project ``trunkml init`` renders, and the data file."""
    fresh_workdir(workdir)
    write_files(workdir, {
        PROJECT_FILE: demo_template("trunkml-tabular.yaml", model=MODEL, eval=f"{DATASET}-eval"),
        ".gitignore": render("project/gitignore"),
        f"endpoints/{MODEL}/endpoint.yaml": demo_template("endpoint.yaml", model=MODEL),
        **model_files(MODEL, package_name(MODEL), "tabular", f"{DATASET}-train", f"{DATASET}-eval"),
    })  # fmt: skip
    (workdir / "data").mkdir()
    cancer_frame().to_csv(workdir / "data" / "cancer.csv", index=False)
    set_params(workdir, PARAMS_A)
    git(workdir, "init", "-q", "-b", "main")
    add_reviewer(workdir)


class _TabularStory(_Story):
    def add_file(self) -> None:
        request = AddRequest(
            name=DATASET, file=self.service.settings.project_root / "data" / "cancer.csv", target="diagnosis",
            positive="malignant", exclude=("patient",), source="scikit-learn's load_breast_cancer (UCI, CC BY 4.0)",
        )  # fmt: skip
        result = add_dataset(self.service, request)
        schema = result.pointer.resolved_schema
        kinds = {kind: sum(1 for f in schema.features if f.type.value == kind) for kind in ("numeric", "categorical")}
        self.record(
            f"trunkml data add {DATASET} --target diagnosis --positive malignant --exclude patient",
            result.created and len(schema.features) == 32,
            f"{result.pointer.ref}: {len(schema.features)} features inferred ({kinds['numeric']} numeric, "
            f"{kinds['categorical']} categorical, 1 boolean); classes {result.pointer.class_names}",
        )

    def split(self) -> None:
        parts = add_split(self.service, DATASET, SplitSpec(), DATASET)
        rows = ", ".join(f"{part.pointer.ref}" for part in parts)
        self.record(f"trunkml data split {DATASET} --add {DATASET}", all(p.created for p in parts), rows)


def run_tabular_demo(workdir: Path, emit: Emit, report: Report, keep_serving: bool = False) -> DemoReport:
    """Play the tabular story in ``workdir`` (a fresh git repo) and return what happened."""
    started = time.perf_counter()
    workdir = workdir.resolve()
    prepare_tabular_workdir(workdir)
    home = workdir / ".trunkml"
    settings = Settings(project=workdir, home=home, mlflow_tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    story = _TabularStory(DataService(settings), emit, report)
    report("commit A")
    story.heading("Commit A: the breast-cancer data, its schema, and a plain logistic regression")
    story.add_file()
    story.split()
    story.validate(f"{DATASET}-train", f"{DATASET}-eval", max_overlap=None, expect_ok=True)
    first = story.commit("A: the breast-cancer data and a logistic regression")
    story.pipeline_run(
        NO_COMMIT, {"workspace-cd": "succeeded", "model-ct": "succeeded", "model-cd": "waiting for approval"}
    )
    story.approve_and_promote(1, reviewer="reviewer")
    records = json_records(DataService(settings).load(f"{DATASET}-eval").features())
    story.sample = records[0]
    report("starting the server")
    story.serve(1)
    try:
        story.heading("Commit B: gradient boosting over the same features")
        story.set_params(PARAMS_B)
        second = story.commit("B: gradient boosting")
        story.pipeline_run(first, {"model-ct": "succeeded", "model-cd": "waiting for approval"})
        story.hot_swap(2, reviewer="reviewer")
        story.heading("Commit C: a regression (three boosting rounds at a tiny learning rate)")
        story.set_params(PARAMS_C)
        story.commit("C: fewer, smaller boosting rounds")
        story.pipeline_run(second, {"model-ct": "succeeded", "model-cd": "failed"})
        story.refuse_promotion(3, reviewer="reviewer")
        play_close(story, f"{DATASET}-eval", keep_serving, "held-out records, judged per feature")
    finally:
        if not (keep_serving and story.steps_ok()):
            story.server.stop()
    result = DemoReport(
        workdir=str(workdir), data="breast-cancer", seconds=time.perf_counter() - started, steps=story.steps,
        server_url=story.server.url if keep_serving else None,
        server_pid=story.server.process.pid if keep_serving else None,
    )  # fmt: skip
    if not result.ok:
        raise RefusedError("the demo did not behave as expected", hint="see the steps above")
    return result
