"""Reading any flavor's answer, and loading skops files without trusting what the model says about itself."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trunkml.errors import IntegrityError
from trunkml.registry.loading import safe_types, trusted_types
from trunkml.registry.model_inputs import input_frame, label_score


def test_probabilities_scores_and_trunkml_frames_all_become_labels_and_scores() -> None:
    labels, scores = label_score(np.array([[0.9, 0.1], [0.3, 0.7]]), threshold=0.5)
    assert labels.tolist() == [0, 1]
    assert scores.tolist() == [0.1, 0.7]
    assert label_score(np.array([0.2, 0.8]), threshold=0.9)[0].tolist() == [0, 0]
    own = pd.DataFrame({"label": [1], "score": [0.4]})
    assert label_score(own, threshold=0.5)[0].tolist() == [1]  # the model's own decision stands
    with pytest.raises(ValueError, match=r"shape \(1, 3\)"):
        label_score(np.zeros((1, 3)), threshold=0.5)


def test_records_are_typed_by_the_signature() -> None:
    frame = input_frame([{"age": 3, "plan": "a"}, {"age": None, "plan": None}], {"age": "double", "plan": "string"})
    assert frame["age"].dtype == float
    assert np.isnan(frame["age"][1])
    assert input_frame(["hello"]).columns.tolist() == ["text"]


def test_only_scikit_learn_numpy_and_scipy_types_are_trusted() -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(max_iter=2).fit([[0.0], [1.0], [0.0], [1.0]], [0, 1, 0, 1])
    assert all(name.startswith(("sklearn.", "numpy.")) for name in trusted_types(model))
    with pytest.raises(IntegrityError, match=r"builtins\.eval"):
        safe_types(["sklearn.tree.Tree", "builtins.eval"])
