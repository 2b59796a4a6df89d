"""Loading a verified model folder without unpickling anything.

Every trunkml loader (the gate, the server's model process, batch scoring, training's own
evaluation) loads through :func:`load_verified` with MLflow's
``MLFLOW_ALLOW_PICKLE_DESERIALIZATION`` set to false, so a pickled or cloudpickled model
is refused by MLflow itself.

MLflow also refuses the scikit-learn flavor's skops format under that setting, because a
skops file's trusted-types list is read from the model's own ``MLmodel`` and a crafted model
could trust anything. trunkml loads skops models itself, more strictly: the types the file
needs (``skops.io.get_untrusted_types``) must all come from scikit-learn, NumPy or SciPy,
and the folder was already verified against the digests recorded (and signed) at
registration. The loaded estimator answers ``predict_proba`` for a binary model.

XGBoost and LightGBM models are stored in their libraries' own formats (UBJSON or JSON;
LightGBM's text model file) and loaded by those libraries, which read data, not code. Their
categorical features arrive as pandas categories and their flags as 0/1 numbers
(:func:`~trunkml.registry.model_inputs.boosting_frame`), as in training.

Any other flavor loads through ``mlflow.pyfunc`` only when its MLflow loader honours the
pickle switch; a flavor whose loader would unpickle regardless (LightGBM's scikit-learn
wrapper, for one) is refused before MLflow sees it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from trunkml.errors import IntegrityError
from trunkml.registry.model_inputs import boosting_frame, feature_types

PICKLE_SWITCH = "MLFLOW_ALLOW_PICKLE_DESERIALIZATION"
SAFE_TYPE_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.slice", "collections.OrderedDict")
PICKLE_FORMATS = frozenset({"pickle", "cloudpickle"})
NATIVE_FORMATS = {"xgboost": frozenset({"ubj", "json"}), "lightgbm": frozenset({"lgb"})}
GUARDED_LOADERS = frozenset(
    {"mlflow.pyfunc.loaders.code_model", "mlflow.pyfunc.model", "mlflow.sklearn", "mlflow.pytorch"}
)
"""MLflow pyfunc loaders that refuse pickled files under ``MLFLOW_ALLOW_PICKLE_DESERIALIZATION=false``
(a model-from-code runs its own verified source file, and refuses a pickled python_model)."""


class EstimatorModel:
    """A model loaded by its own library (skops, XGBoost, LightGBM), answering like a pyfunc does.

    ``metadata`` is the folder's MLflow ``Model`` (signature and trunkml's metadata), as on a pyfunc.
    """

    def __init__(self, estimator: Any, metadata: Any, boosting: bool = False) -> None:
        self.estimator = estimator
        self.metadata = metadata
        self.boosting = boosting

    def predict(self, frame: pd.DataFrame) -> Any:
        """Class probabilities when the estimator has them, else its predictions (a Booster's probabilities)."""
        if self.boosting:
            frame = boosting_frame(frame, feature_types(self) or {})
        if hasattr(self.estimator, "predict_proba"):
            return self.estimator.predict_proba(frame)
        if type(self.estimator).__module__.startswith("xgboost"):
            import xgboost

            return self.estimator.predict(xgboost.DMatrix(frame, enable_categorical=True))
        return self.estimator.predict(frame)


def forbid_pickle(allow: bool = False) -> None:
    """Tell MLflow, in this process, whether it may unpickle model files (never, unless a dev project allows it)."""
    os.environ[PICKLE_SWITCH] = "true" if allow else "false"


def safe_types(needed: list[str]) -> list[str]:
    """``needed`` (skops's untrusted types of a file) if all come from scikit-learn, NumPy or SciPy; else refused."""
    unsafe = sorted(name for name in needed if not name.startswith(SAFE_TYPE_PREFIXES))
    if unsafe:
        raise IntegrityError(
            f"the skops model needs types outside scikit-learn, NumPy and SciPy: {', '.join(unsafe[:5])}",
            hint="trunkml stores and loads only estimators built from those libraries; log others as a pyfunc",
        )
    return needed


def trusted_types(estimator: Any) -> list[str]:
    """The types skops must trust to load ``estimator`` (refused unless all are safe: see :func:`safe_types`)."""
    import skops.io

    return safe_types(skops.io.get_untrusted_types(data=skops.io.dumps(estimator)))


def _load_skops(folder: Path, model: Any, conf: dict[str, Any]) -> EstimatorModel:
    import skops.io

    path = folder / str(conf.get("pickled_model", "model.skops"))
    needed = safe_types(skops.io.get_untrusted_types(file=str(path)))
    return EstimatorModel(skops.io.load(str(path), trusted=needed), model)


def native_format(flavor: str, conf: dict[str, Any]) -> str:
    """The file format of an XGBoost or LightGBM flavor (refused unless it is the library's own)."""
    data = str(conf.get("data", ""))
    kind = str(conf.get("model_format") or data.rsplit(".", 1)[-1])
    own_class = str(conf.get("model_class", f"{flavor}.")).startswith(f"{flavor}.")
    if kind not in NATIVE_FORMATS[flavor] or not data.endswith("." + kind) or not own_class:
        raise IntegrityError(
            f"the {flavor} model is stored as {data!r}, not in {flavor}'s own format",
            hint=f"trunkml loads {flavor} models from {' or '.join(sorted(NATIVE_FORMATS[flavor]))} files only",
        )
    return kind


def _load_native(folder: Path, model: Any, flavor: str, conf: dict[str, Any]) -> EstimatorModel:
    native_format(flavor, conf)
    if flavor == "lightgbm":
        import lightgbm

        return EstimatorModel(lightgbm.Booster(model_file=str(folder / str(conf["data"]))), model, boosting=True)
    import mlflow.xgboost

    return EstimatorModel(mlflow.xgboost.load_model(str(folder)), model, boosting=True)


def serialization_format(folder: Path) -> str | None:
    """The scikit-learn flavor's serialization format in ``folder``'s MLmodel (None for other flavors)."""
    from mlflow.models import Model

    conf = Model.load(str(folder / "MLmodel")).flavors.get("sklearn")
    return str(conf.get("serialization_format")) if conf else None


def load_verified(folder: Path, allow_pickle: bool = False) -> Any:
    """Load a verified model folder as something with ``predict(frame)`` and ``metadata`` (see module docstring)."""
    import mlflow.pyfunc
    from mlflow.models import Model

    forbid_pickle(allow_pickle)
    model = Model.load(str(folder / "MLmodel"))
    conf = model.flavors.get("sklearn")
    if conf and conf.get("serialization_format") == "skops":
        return _load_skops(folder, model, conf)
    for flavor in NATIVE_FORMATS:
        if flavor in model.flavors:
            return _load_native(folder, model, flavor, model.flavors[flavor])
    loader = str(model.flavors.get("python_function", {}).get("loader_module", ""))
    if not allow_pickle and loader not in GUARDED_LOADERS:
        raise IntegrityError(
            f"trunkml does not load models of the {loader or 'unknown'} flavor: its loader may unpickle files",
            hint="log a pyfunc model-from-code, scikit-learn (skops), XGBoost or LightGBM model",
        )
    return mlflow.pyfunc.load_model(str(folder))
