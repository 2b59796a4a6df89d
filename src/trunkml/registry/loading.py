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
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from trunkml.errors import IntegrityError

PICKLE_SWITCH = "MLFLOW_ALLOW_PICKLE_DESERIALIZATION"
SAFE_TYPE_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.slice", "collections.OrderedDict")
PICKLE_FORMATS = frozenset({"pickle", "cloudpickle"})


class SkopsModel:
    """A scikit-learn estimator loaded from a skops file, answering like its pyfunc (``predict_proba``)."""

    def __init__(self, estimator: Any, metadata: Any) -> None:
        self.estimator = estimator
        self.metadata = metadata

    def predict(self, frame: pd.DataFrame) -> Any:
        """Class probabilities when the estimator has them, else its predictions."""
        if hasattr(self.estimator, "predict_proba"):
            return self.estimator.predict_proba(frame)
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


def _load_skops(folder: Path, model: Any, conf: dict[str, Any]) -> SkopsModel:
    import skops.io

    path = folder / str(conf.get("pickled_model", "model.skops"))
    needed = safe_types(skops.io.get_untrusted_types(file=str(path)))
    return SkopsModel(skops.io.load(str(path), trusted=needed), model)


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
    return mlflow.pyfunc.load_model(str(folder))
