"""Validate a dataset with pandera and report every problem at once.

The pandera schema is built from the pointer's schema. Errors block use (a value that
is not of its feature's type, a missing value where none is allowed, empty texts,
labels outside the pointer's mapping, a single class, leakage beyond the allowance);
warnings inform (duplicate rows, duplicates with conflicting labels, extreme class
imbalance). Each issue names its column and shows example values and row numbers.
"""

from __future__ import annotations

import warnings

import pandas as pd
from pydantic import BaseModel, ConfigDict

# With pyspark installed (the spark extra), pandera imports pyspark.pandas, on import and again when it
# validates, and pyspark warns about pandas >= 3 each time; trunkml never uses pandas-on-Spark.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)

import pandera.pandas as pa  # noqa: E402 - after the filter above
from pandera.errors import SchemaErrors  # noqa: E402

from trunkml.datasets.columns import LABEL  # noqa: E402
from trunkml.datasets.leakage import LeakageReport, describe_row, row_keys  # noqa: E402
from trunkml.datasets.loaded import LoadedDataset  # noqa: E402
from trunkml.datasets.pointer import DataFormat  # noqa: E402
from trunkml.datasets.schema import DataSchema, Feature, FeatureType, is_flag, is_number, typed_frame  # noqa: E402
from trunkml.datasets.tabular import parse_file, raw_text, require_columns  # noqa: E402
from trunkml.errors import DataFormatError  # noqa: E402

EXAMPLES = 5
VALIDATION_VERSION = "2"  # bump when a check changes: remembered passes are keyed by it
MIN_MINORITY_SHARE = 0.05


class Issue(BaseModel):
    """One kind of problem, how often it occurs, and where (1-based data row numbers)."""

    model_config = ConfigDict(frozen=True)

    code: str
    message: str
    count: int
    rows: list[int] = []
    examples: list[str] = []


class ValidationReport(BaseModel):
    """Everything validation found for one dataset (and, optionally, its evaluation partner)."""

    model_config = ConfigDict(frozen=True)

    dataset: str
    rows: int
    class_counts: dict[int, int]
    errors: list[Issue]
    warnings: list[Issue]

    @property
    def ok(self) -> bool:
        """True when nothing blocks using the dataset."""
        return not self.errors

    @property
    def positive_share(self) -> float:
        """Share of rows in class 1."""
        return self.class_counts.get(1, 0) / self.rows if self.rows else 0.0


class ValidationOutcome(BaseModel):
    """Reports for each validated dataset plus the leakage check between them."""

    model_config = ConfigDict(frozen=True)

    reports: list[ValidationReport]
    leakage: LeakageReport | None = None

    @property
    def ok(self) -> bool:
        """True when no report has errors and leakage (if checked) is within the allowance."""
        return all(report.ok for report in self.reports) and (self.leakage is None or self.leakage.ok)


CHECK_MESSAGES = {
    "text_not_empty": "have empty or blank text",
    "not_missing": "have no value, and the schema does not allow missing values",
    "numeric": "are not numbers",
    "boolean": "are not booleans (1/0, true/false, yes/no)",
    "regression_target": "are not numbers (the target of a regression)",
}


def _column_checks(feature: Feature) -> list[pa.Check]:
    checks = []
    if feature.type is FeatureType.NUMERIC:
        checks.append(pa.Check(lambda s: (s == "") | s.map(is_number), error="numeric"))
    elif feature.type is FeatureType.BOOLEAN:
        checks.append(pa.Check(lambda s: (s == "") | s.map(is_flag), error="boolean"))
    if feature.type is FeatureType.TEXT and not feature.nullable:
        checks.append(pa.Check(lambda s: s.str.strip().str.len() > 0, error="text_not_empty"))
    elif not feature.nullable:
        checks.append(pa.Check(lambda s: s != "", error="not_missing"))
    return checks


def build_schema(schema: DataSchema, labels: dict[str, int] | None) -> pa.DataFrameSchema:
    """The pandera schema for a raw frame (every value as text): each feature's checks and a label from the mapping.

    With ``labels`` None, the frame has no label (rows to score).
    """
    columns = {feature.name: pa.Column(str, _column_checks(feature)) for feature in schema.features}
    if labels is not None and schema.task == "regression":
        columns[LABEL] = pa.Column(str, pa.Check(lambda s: s.map(is_number), error="regression_target"))
    elif labels is not None:
        allowed = sorted(labels)
        columns[LABEL] = pa.Column(str, pa.Check.isin(allowed, error=f"label_in_{allowed[:20]}"))
    return pa.DataFrameSchema(columns, coerce=True)


def features_to_score(data: bytes, fmt: DataFormat, schema: DataSchema, label: str) -> pd.DataFrame:
    """A file's rows as the typed features a model with ``schema`` takes; other columns are ignored.

    Every missing column is listed, and values of the wrong type or missing where none may be are
    refused naming the column and an example, as when a dataset is validated: nothing is scored.
    """
    frame = parse_file(data, fmt, label)
    require_columns(frame, list(schema.names), label)
    raw = raw_text(frame[list(schema.names)]).reset_index(drop=True)
    try:
        build_schema(schema, None).validate(raw, lazy=True)
    except SchemaErrors as exc:
        issues = _issues_from_failures(exc.failure_cases)
        raise DataFormatError(
            f"{label}: {'; '.join(issue.message for issue in issues[:5])}",
            hint="fix those values; the file was not scored",
        ) from None
    return typed_frame(raw, schema)


def _schema_issues(loaded: LoadedDataset) -> list[Issue]:
    try:
        build_schema(loaded.pointer.resolved_schema, loaded.pointer.labels).validate(loaded.frame, lazy=True)
    except SchemaErrors as exc:
        return _issues_from_failures(exc.failure_cases)
    return []


def _issues_from_failures(failures: pd.DataFrame) -> list[Issue]:
    issues = []
    for (column, check), group in failures.groupby(["column", "check"], sort=True):
        rows = [int(index) + 1 for index in group["index"].dropna().head(EXAMPLES)]
        examples = [repr(value)[:80] for value in group["failure_case"].head(EXAMPLES)]
        what = CHECK_MESSAGES.get(str(check), f"are outside the pointer's mapping ({check})")
        shown = f" (e.g. {examples[0]} on row {rows[0]})" if rows and examples else ""
        message = f"{len(group)} row(s) of '{column}' {what}{shown}"
        issues.append(Issue(code=f"{column}:{check}", message=message, count=len(group), rows=rows, examples=examples))
    return issues


def _duplicate_issues(features: pd.DataFrame, mapped: pd.Series) -> list[Issue]:
    keys = pd.Series(row_keys(features), index=features.index)
    dup_mask = keys.duplicated(keep=False)
    if not dup_mask.any():
        return []
    dups = pd.DataFrame({"key": keys[dup_mask], "label": mapped[dup_mask]})
    rows = [int(index) + 1 for index in dups.index[:EXAMPLES]]
    issues = [
        Issue(
            code="duplicate_text",
            count=int(dup_mask.sum()),
            rows=rows,
            message=f"{int(dup_mask.sum())} rows share their (normalised) values with another row "
            f"({dups['key'].nunique()} distinct rows)",
            examples=[describe_row(features, int(index), 80) for index in dups.index[:EXAMPLES]],
        )
    ]
    conflicting = dups.groupby("key")["label"].nunique()
    conflicting = conflicting[conflicting > 1]
    if len(conflicting):
        issues.append(
            Issue(
                code="conflicting_labels",
                count=len(conflicting),
                message=f"{len(conflicting)} duplicated rows carry different labels",
                examples=[key[:80] for key in conflicting.index[:EXAMPLES]],
            )
        )
    return issues


def _balance_issues(counts: dict[int, int], rows: int) -> tuple[list[Issue], list[Issue]]:
    present = [label for label, count in counts.items() if count]
    if len(present) < 2 and rows:
        return [Issue(code="single_class", count=rows, message=f"only class {present} occurs; need at least two")], []
    minority = min(counts.values()) / rows if rows else 0.0
    if minority < MIN_MINORITY_SHARE:
        return [], [
            Issue(
                code="class_imbalance", count=min(counts.values()), message=f"minority class is {minority:.1%} of rows"
            )
        ]
    return [], []


def validate_frame(loaded: LoadedDataset) -> ValidationReport:
    """Run every check on a loaded dataset's raw rows and return one report."""
    frame = loaded.frame
    errors = _schema_issues(loaded)
    if loaded.pointer.task == "regression":
        mapped = pd.to_numeric(frame[LABEL], errors="coerce")
        counts: dict[int, int] = {}
        balance_errors: list[Issue] = []
        balance_warnings: list[Issue] = []
    else:
        mapped = frame[LABEL].map(loaded.pointer.labels)
        classes = sorted(set(loaded.pointer.labels.values()) | {0, 1})
        counts = {cls: int((mapped == cls).sum()) for cls in classes}
        balance_errors, balance_warnings = _balance_issues(counts, len(frame))
    return ValidationReport(
        dataset=loaded.pointer.ref,
        rows=len(frame),
        class_counts=counts,
        errors=errors + balance_errors,
        warnings=_duplicate_issues(loaded.features(), mapped) + balance_warnings,
    )
