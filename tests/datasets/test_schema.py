"""A dataset's schema: inferred from the file by `data add --target`, refused when it cannot be right."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
import yaml
from pydantic import ValidationError

from tests.conftest import Project
from trunkml.datasets.pointer import DatasetPointer, DatasetRef
from trunkml.datasets.schema import FeatureType, infer_schema, typed_frame

CUSTOMERS = """customer_id,age,plan,active,notes,churned
c1,34,basic,yes,called twice about the bill,no
c2,51,pro,no,,yes
c3,,basic,yes,happy with the service,no
c4,29,pro,no,asked to cancel,yes
c5,62,basic,yes,moved to another city,no
c6,45,pro,yes,no complaints,no
"""


def raw(text: str) -> pd.DataFrame:
    import io

    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def test_types_are_inferred_from_the_values() -> None:
    schema = infer_schema(raw(CUSTOMERS), "churned", exclude=("customer_id",), text_columns=("notes",))
    kinds = {f.name: (f.type, f.nullable) for f in schema.features}
    assert kinds == {
        "age": (FeatureType.NUMERIC, True),
        "plan": (FeatureType.CATEGORICAL, False),
        "active": (FeatureType.BOOLEAN, False),
        "notes": (FeatureType.TEXT, True),
    }
    assert schema.feature("plan").categories == ("basic", "pro")
    typed = typed_frame(raw(CUSTOMERS), schema)
    assert typed["age"].isna().tolist() == [False, False, True, False, False, False]
    assert typed["active"].tolist() == [True, False, True, False, True, True]


def pointer(**schema: Any) -> dict[str, Any]:
    return {"name": "c", "version": 1, "uri": "c.csv", "sha256": "0" * 64, "size_bytes": 1,
            "labels": {"no": 0, "yes": 1}, "schema": schema}  # fmt: skip


def test_a_target_listed_as_a_feature_is_refused() -> None:
    with pytest.raises(ValidationError, match="the target 'churned' is also listed as a feature"):
        DatasetPointer.model_validate(
            pointer(target="churned", features=[{"name": "churned", "type": "categorical", "open": True}])
        )


def test_a_pointer_has_one_form_only() -> None:
    both = pointer(target="y", features=[{"name": "a", "type": "numeric"}])
    with pytest.raises(ValidationError, match="either schema"):
        DatasetPointer.model_validate({**both, "text_column": "t", "label_column": "l"})
    with pytest.raises(ValidationError, match="either schema"):
        DatasetPointer.model_validate({k: v for k, v in both.items() if k != "schema"})


def test_categorical_features_list_their_values_or_are_open() -> None:
    with pytest.raises(ValidationError, match="lists its categories or is open"):
        DatasetPointer.model_validate(pointer(target="y", features=[{"name": "plan", "type": "categorical"}]))


def test_data_add_with_a_target_writes_a_compact_schema_and_class_names(project: Project) -> None:
    project.write_csv("data/customers.csv", CUSTOMERS)
    done = project.cli("data", "add", "customers", "--file", "data/customers.csv", "--target", "churned",
                       "--positive", "yes", "--exclude", "customer_id", "--text-column", "notes")  # fmt: skip
    assert done.code == 0, done.stderr
    written = yaml.safe_load((project.root / "datasets/customers/dataset.yaml").read_text(encoding="utf-8"))
    assert written["schema"]["features"][1] == {"name": "plan", "type": "categorical", "categories": ["basic", "pro"]}
    assert written["labels"] == {"no": 0, "yes": 1}
    assert written["classes"] == {"0": "no", "1": "yes"}
    assert "text_column" not in written
    loaded = project.service().load("customers")
    assert loaded.labelled()["label"].tolist() == [0, 1, 0, 1, 0, 0]
    assert project.cli("data", "validate", "customers").code == 0


def test_data_add_lists_every_missing_column(project: Project) -> None:
    project.write_csv("data/customers.csv", CUSTOMERS)
    done = project.cli("data", "add", "customers", "--file", "data/customers.csv", "--target", "left",
                       "--features", "age,income,plan")  # fmt: skip
    assert done.code == 1
    assert "missing column(s): left, income" in done.stderr


def test_a_positive_value_that_does_not_occur_is_a_usage_error(project: Project) -> None:
    project.write_csv("data/customers.csv", CUSTOMERS)
    done = project.cli("data", "add", "customers", "--file", "data/customers.csv", "--target", "plan",
                       "--positive", "maybe")  # fmt: skip
    assert done.code == 2
    assert "--positive 'maybe' does not occur in 'plan'" in done.stderr


def test_bytes_that_break_the_schema_fail_validation_naming_column_and_value(project: Project) -> None:
    project.write_csv("data/customers.csv", CUSTOMERS)
    assert project.cli("data", "add", "customers", "--file", "data/customers.csv", "--target", "churned").code == 0
    project.write_csv("data/customers.csv", CUSTOMERS.replace("c2,51,", "c2,fifty-one,"))
    assert project.cli("data", "add", "customers", "--file", "data/customers.csv", "--target", "churned").code == 0
    service = project.service()
    first, second = (service.catalog.get(DatasetRef.parse(f"customers@{v}")) for v in (1, 2))
    # The old schema (age: numeric) over the new bytes, as a hand-edited pointer would have it:
    service.catalog.save(
        first.model_copy(update={"version": 3, "sha256": second.sha256, "size_bytes": second.size_bytes})
    )
    done = project.cli("data", "validate", "customers")
    assert done.code == 1
    assert "1 row(s) of 'age' are not numbers (e.g. 'fifty-one' on row 2)" in done.stdout + done.stderr
