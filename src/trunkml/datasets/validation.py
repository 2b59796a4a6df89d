"""Validate a dataset with pandera and report every problem at once.

Errors block use (empty texts, labels outside the pointer's mapping, a single
class, leakage beyond the allowance); warnings inform (duplicate texts,
duplicates with conflicting labels, extreme class imbalance).
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

from trunkml.datasets.columns import LABEL, TEXT  # noqa: E402
from trunkml.datasets.leakage import LeakageReport, normalize_text  # noqa: E402

EXAMPLES = 5
VALIDATION_VERSION = "1"  # bump when a check changes: remembered passes are keyed by it
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


def build_schema(labels: dict[str, int]) -> pa.DataFrameSchema:
    """The pandera schema for a raw frame: non-empty text and a label from the mapping."""
    allowed = sorted(labels)
    return pa.DataFrameSchema(
        {
            TEXT: pa.Column(str, pa.Check(lambda s: s.str.strip().str.len() > 0, error="text_not_empty")),
            LABEL: pa.Column(str, pa.Check.isin(allowed, error=f"label_in_{allowed}")),
        },
        coerce=True,
    )


def _schema_issues(frame: pd.DataFrame, labels: dict[str, int]) -> list[Issue]:
    try:
        build_schema(labels).validate(frame, lazy=True)
    except SchemaErrors as exc:
        return _issues_from_failures(exc.failure_cases)
    return []


def _issues_from_failures(failures: pd.DataFrame) -> list[Issue]:
    issues = []
    for (column, check), group in failures.groupby(["column", "check"], sort=True):
        rows = [int(index) + 1 for index in group["index"].dropna().head(EXAMPLES)]
        examples = [repr(value)[:80] for value in group["failure_case"].head(EXAMPLES)]
        message = (
            f"{len(group)} row(s) have empty or blank text"
            if check == "text_not_empty"
            else f"{len(group)} row(s) have a {column} value outside the pointer's mapping ({check})"
        )
        issues.append(Issue(code=f"{column}:{check}", message=message, count=len(group), rows=rows, examples=examples))
    return issues


def _duplicate_issues(frame: pd.DataFrame, mapped: pd.Series) -> list[Issue]:
    keys = frame[TEXT].map(normalize_text)
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
            message=f"{int(dup_mask.sum())} rows share their (normalised) text with another row "
            f"({dups['key'].nunique()} distinct texts)",
            examples=[frame[TEXT][index][:80] for index in dups.index[:EXAMPLES]],
        )
    ]
    conflicting = dups.groupby("key")["label"].nunique()
    conflicting = conflicting[conflicting > 1]
    if len(conflicting):
        issues.append(
            Issue(
                code="conflicting_labels",
                count=len(conflicting),
                message=f"{len(conflicting)} duplicated texts carry different labels",
                examples=[key[:80] for key in conflicting.index[:EXAMPLES]],
            )
        )
    return issues


def _balance_issues(counts: dict[int, int], rows: int) -> tuple[list[Issue], list[Issue]]:
    present = [label for label, count in counts.items() if count]
    if len(present) < 2 and rows:
        return [Issue(code="single_class", count=rows, message=f"only class {present} occurs; need both 0 and 1")], []
    minority = min(counts.values()) / rows if rows else 0.0
    if minority < MIN_MINORITY_SHARE:
        return [], [
            Issue(
                code="class_imbalance", count=min(counts.values()), message=f"minority class is {minority:.1%} of rows"
            )
        ]
    return [], []


def validate_frame(frame: pd.DataFrame, labels: dict[str, int], dataset: str) -> ValidationReport:
    """Run every check on a raw frame (``text``, ``label`` as strings) and return one report."""
    errors = _schema_issues(frame, labels)
    mapped = frame[LABEL].map(labels)
    counts = {cls: int((mapped == cls).sum()) for cls in (0, 1)}
    balance_errors, balance_warnings = _balance_issues(counts, len(frame))
    return ValidationReport(
        dataset=dataset,
        rows=len(frame),
        class_counts=counts,
        errors=errors + balance_errors,
        warnings=_duplicate_issues(frame, mapped) + balance_warnings,
    )
