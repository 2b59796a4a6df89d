"""The contract between trunkml and a project's training code.

A job's ``entrypoint`` is a function ``train(job: TrainingJob) -> ModelPackage``.
It gets the verified training rows (``features`` typed by the dataset's schema, and
``target``) and the params, and returns either an MLflow pyfunc *model-from-code*
(a Python file that calls ``mlflow.models.set_model``) with its artifacts, or a
fitted model of a standard flavor: scikit-learn (logged in the skops format), XGBoost
(UBJSON) or LightGBM (its text model file). No flavor is stored as a pickle.
trunkml logs, evaluates and registers it; the training code never sees the
evaluation set, so it cannot tune on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from trunkml.datasets.schema import DataSchema


def _say(_: str) -> None:
    return None


def _no_steps(phase: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True)
class TrainingJob:
    """What the training function receives."""

    train: pd.DataFrame
    """Verified, validated rows: ``text`` (str) and ``label`` (int, 1 = positive)."""
    params: Mapping[str, Any]
    """Hyper-parameters from the job's params file plus command-line overrides."""
    seed: int
    """Seed for anything random in training."""
    workdir: Path
    """An empty folder for the artifacts the function writes."""
    report: Callable[[str], None] = _say
    """Call with a short phase description ("fitting features") to show progress."""
    progress: Callable[[str, int, int], None] = _no_steps
    """Call as ``progress(phase, done, total)`` inside long loops (training steps) to show a progress bar."""
    project_root: Path = field(default_factory=Path.cwd)
    """The project's root folder, for params that name project-relative paths."""
    schema: DataSchema | None = None
    """The training pointer's schema: the features' names and types (None only in hand-made jobs)."""

    @property
    def features(self) -> pd.DataFrame:
        """Exactly the schema's features, typed, in schema order."""
        names = list(self.schema.names) if self.schema else [c for c in self.train.columns if c != "label"]
        return self.train[names]

    @property
    def boosting_features(self) -> pd.DataFrame:
        """``features`` as XGBoost and LightGBM take them: categories as pandas categories, flags as 0/1.

        Fit a native boosting model on these; trunkml hands the model the same at serving time.
        """
        from trunkml.registry.model_inputs import MLFLOW_TYPES, boosting_frame

        types = {f.name: MLFLOW_TYPES[f.type.value] for f in self.schema.features} if self.schema else {}
        return boosting_frame(self.features, types)

    @property
    def target(self) -> pd.Series:
        """The target: integer labels (1 = the positive class)."""
        return self.train["label"]

    @property
    def text(self) -> pd.Series:
        """The one text column of a single-text dataset."""
        single = self.schema.single_text if self.schema else "text"
        if single is None:
            raise TypeError("this dataset has more than one feature: use job.features")
        return self.train[single]

    @property
    def label(self) -> pd.Series:
        """The same as ``target`` (the name text models use)."""
        return self.target


@dataclass(frozen=True)
class ModelPackage:
    """What the training function returns: a pyfunc model-from-code, or a standard flavor's model."""

    python_model: Path | None = None
    """A Python file that defines the model and calls ``mlflow.models.set_model(...)``."""
    artifacts: dict[str, Path] = field(default_factory=dict)
    """Files or folders the model loads in ``load_context`` (safe formats: JSON, npz, ...)."""
    sklearn_model: Any = None
    """Or: a fitted scikit-learn estimator (a Pipeline taking the features frame), logged with ``mlflow.sklearn``."""
    serialization_format: str = "skops"
    """How ``sklearn_model`` is stored: skops (pickle and cloudpickle only where trunkml.yaml allows them, in dev)."""
    xgboost_model: Any = None
    """Or: a fitted XGBoost model (``XGBClassifier`` or ``Booster``, fit on ``job.boosting_features``), stored as
    UBJSON."""
    lightgbm_model: Any = None
    """Or: a fitted LightGBM model (``LGBMClassifier`` or ``Booster``, fit on ``job.boosting_features``), stored as
    LightGBM's own text model file."""

    def __post_init__(self) -> None:
        self.flavor  # noqa: B018 - refuses a package of no model or of two, where it is made

    @property
    def flavor(self) -> str:
        """Which of the model fields is set: python_model, sklearn, xgboost or lightgbm (exactly one may be)."""
        given = [
            name
            for name, value in (
                ("python_model", self.python_model),
                ("sklearn", self.sklearn_model),
                ("xgboost", self.xgboost_model),
                ("lightgbm", self.lightgbm_model),
            )
            if value is not None
        ]
        if len(given) != 1:
            raise ValueError(f"set exactly one of python_model, sklearn_model, xgboost_model, lightgbm_model: {given}")
        return given[0]

    code_paths: list[Path] = field(default_factory=list)
    """Packages the model file imports, shipped with the model."""
    pip_requirements: list[str] = field(default_factory=list)
    """Pinned requirements for serving the model elsewhere."""
    params: dict[str, Any] = field(default_factory=dict)
    """Resolved values worth recording (the tuned threshold, vocabulary size, ...)."""
    metrics: dict[str, float] = field(default_factory=dict)
    """Training-time metrics (e.g. out-of-fold scores on the training data)."""
