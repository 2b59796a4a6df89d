"""What a model answers, per task: class probabilities, predictions with intervals, and answers refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trunkml.registry.model_inputs import Answers, task_answers
from trunkml.release.judging import comparable
from trunkml.serving.server import answer_rows


def test_a_multiclass_answer_keeps_every_class_probability_and_names_them() -> None:
    answers = task_answers(np.array([[0.1, 0.7, 0.2], [0.6, 0.3, 0.1]]), "multiclass")
    assert answers.labels.tolist() == [1, 0]
    assert answers.scores.tolist() == [0.7, 0.6]
    rows = answer_rows(answers, ("refund", "billing", "other"))
    assert rows[0] == {"label": "billing", "score": 0.7, "probabilities": {"refund": 0.1, "billing": 0.7, "other": 0.2}}
    assert Answers.from_wire(answers.to_wire()).to_wire() == answers.to_wire()


def test_a_regression_frame_with_quantiles_is_answered_with_its_interval() -> None:
    frame = pd.DataFrame({"prediction": [10.0, 20.0], "q0.05": [8.0, 15.0], "q0.95": [13.0, 26.0], "q0.5": [10, 20]})
    answers = task_answers(frame, "regression")
    assert answers.levels == (0.05, 0.95)
    rows = answer_rows(answers)
    assert rows[1] == {"prediction": 20.0, "interval": {"lower": 15.0, "upper": 26.0, "levels": [0.05, 0.95]}}
    assert comparable(rows[1]) == (None, [20.0, 15.0, 26.0])  # what infra validation compares, within 1e-6
    plain = answer_rows(task_answers(np.array([1.5, 2.5]), "regression"))
    assert plain == [{"prediction": 1.5}, {"prediction": 2.5}]


@pytest.mark.parametrize(
    ("answers", "classes", "problem"),
    [
        (Answers("binary", np.array([2]), np.array([0.5])), None, "label 2"),
        (Answers("binary", np.array([1]), np.array([1.5])), None, "score 1.5"),
        (Answers("multiclass", np.array([3]), np.array([0.9])), 3, "label 3"),
        (Answers("multiclass", np.array([0]), np.array([0.5]), np.array([[0.5, 0.1, 0.1]])), 3, "label 0"),
        (Answers("multiclass", np.array([0]), np.array([0.5]), np.array([[0.5, 0.5]])), 3, "2 class probabilities"),
        (Answers("regression", np.array([np.nan]), np.array([np.nan])), None, "non-finite"),
    ],
)
def test_answers_a_server_must_not_send_are_named(answers: Answers, classes: int | None, problem: str) -> None:
    found = answers.problem(classes)
    assert found is not None
    assert problem in found


def test_nan_from_a_multiclass_or_regression_model_is_refused() -> None:
    with pytest.raises(ValueError, match="non-finite"):
        task_answers(np.array([[0.5, np.nan]]), "multiclass")
    with pytest.raises(ValueError, match="non-finite"):
        task_answers(pd.DataFrame({"prediction": [1.0, np.inf]}), "regression")


def test_answers_of_the_wrong_type_are_refused_naming_them() -> None:
    with pytest.raises(ValueError, match=r"a regression model must answer numbers; it answered \['high', 'low'\]"):
        task_answers(np.array(["high", "low"]), "regression")
    with pytest.raises(ValueError, match="a multiclass model must answer numbers"):
        task_answers(pd.DataFrame({"a": ["d1"], "b": ["d2"]}), "multiclass")


def test_feedback_takes_whole_number_class_names_as_numbers_only_when_unambiguous() -> None:
    from pydantic import ValidationError

    from trunkml.serving.schemas import feedback_model, whole_number_names

    assert whole_number_names(("0", "1", "2")) == {0: "0", 1: "1", 2: "2"}
    assert whole_number_names(("007", "8")) == {}  # "7" would not name "007"
    assert whole_number_names(("²", "³")) == {}  # digits, but not ASCII numbers
    padded = feedback_model("multiclass", ("007", "8", "9"))
    assert padded.model_validate_json('{"request_id": "r1", "label": "007"}').label == "007"  # type: ignore[attr-defined]
    with pytest.raises(ValidationError):
        padded.model_validate_json('{"request_id": "r1", "label": 7}')
    unnamed = feedback_model("multiclass", ())  # a version without its class names: the index
    assert unnamed.model_validate_json('{"request_id": "r1", "label": 4}').label == 4  # type: ignore[attr-defined]
