"""A dataset's schema: its target and its features, each with a type, as a pointer declares them.

The schema is what makes trunkml model-agnostic. Validation (pandera), the typed frame a
training function gets, leakage and duplicate keys, the model's signature, the server's
request model and drift statistics are all built from it. A text-only dataset of the older
form (``text_column`` / ``label_column``) has a schema too: one text feature named ``text``.

It is designed for every target kind (``task``); this version trains binary classifiers.
"""

from __future__ import annotations

import math
import re
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from trunkml.datasets.columns import LABEL

if TYPE_CHECKING:
    import pandas as pd

TRUE_VALUES = frozenset({"1", "true", "yes", "y", "t"})
FALSE_VALUES = frozenset({"0", "false", "no", "n", "f"})
MAX_CATEGORIES = 50
MAX_CATEGORY_CHARS = 40
NUMBER = re.compile(r"^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$")


class FeatureType(StrEnum):
    """How a feature's values are read, validated, served and watched for drift."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    TEXT = "text"
    BOOLEAN = "boolean"


class Feature(BaseModel):
    """One input column: its name, type, whether it may be missing, and (categorical) its known values."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    type: FeatureType
    nullable: bool = Field(default=False, description="True when a value may be missing (empty).")
    categories: tuple[str, ...] = Field(default=(), description="Categorical: the values seen when it was added.")
    open: bool = Field(
        default=False, description="Categorical: the server accepts values outside `categories` (else 422)."
    )

    @model_serializer(mode="wrap")
    def _compact(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Pointers list only what differs from the defaults: ``{name: age, type: numeric}``."""
        data: dict[str, Any] = handler(self)
        return {key: value for key, value in data.items() if key in ("name", "type") or value not in (False, (), [])}

    @model_validator(mode="after")
    def _categories_fit_type(self) -> Self:
        if self.type is not FeatureType.CATEGORICAL and (self.categories or self.open):
            raise ValueError(f"feature '{self.name}': only categorical features have categories or open")
        if self.type is FeatureType.CATEGORICAL and not self.categories and not self.open:
            raise ValueError(f"feature '{self.name}': a categorical feature lists its categories or is open")
        return self


class DataSchema(BaseModel):
    """The target column, the task, and the features, in the order a model receives them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target: str = Field(min_length=1)
    task: Literal["binary", "multiclass", "regression"] = Field(
        default="binary", description="binary (two classes), multiclass (three or more) or regression (a number)."
    )
    features: tuple[Feature, ...] = Field(min_length=1)

    @field_validator("features")
    @classmethod
    def _distinct(cls, value: tuple[Feature, ...]) -> tuple[Feature, ...]:
        names = [feature.name for feature in value]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"features are listed twice: {', '.join(repeated)}")
        if LABEL in names:
            raise ValueError(f"'{LABEL}' is reserved for the target in loaded frames; rename that feature column")
        return value

    @model_validator(mode="after")
    def _target_not_feature(self) -> Self:
        if self.target in self.names:
            raise ValueError(f"the target '{self.target}' is also listed as a feature; a model may not see its label")
        return self

    @property
    def names(self) -> tuple[str, ...]:
        """The feature names, in order."""
        return tuple(feature.name for feature in self.features)

    def of_type(self, kind: FeatureType) -> tuple[Feature, ...]:
        """The features of one type."""
        return tuple(feature for feature in self.features if feature.type is kind)

    @property
    def single_text(self) -> str | None:
        """The feature name when the inputs are exactly one text column (the ``{"text"}`` shorthand), else None."""
        return self.features[0].name if len(self.features) == 1 and self.features[0].type is FeatureType.TEXT else None

    def feature(self, name: str) -> Feature:
        """The feature called ``name``."""
        return next(feature for feature in self.features if feature.name == name)


def text_schema(target: str) -> DataSchema:
    """The schema of an older text-only pointer: one text feature, read into the column ``text``."""
    return DataSchema(target=target, features=(Feature(name="text", type=FeatureType.TEXT),))


# -- reading raw text values -----------------------------------------------------------------------------------


def is_number(value: str) -> bool:
    """True for a finite decimal number written as text (``nan`` and ``inf`` are not numbers here)."""
    return bool(NUMBER.match(value))


def is_flag(value: str) -> bool:
    """True for a boolean written as text (1/0, true/false, yes/no; any case)."""
    return value.strip().lower() in TRUE_VALUES | FALSE_VALUES


def typed_frame(raw: pd.DataFrame, schema: DataSchema) -> pd.DataFrame:
    """The schema's features from a frame of raw text values, typed: numbers as float, flags as bool, the rest str.

    Missing (empty) values become NaN for numbers and None otherwise. Values that do not parse become
    missing too: validation refuses them first, naming the column and the value.
    """
    import pandas as pd

    columns: dict[str, pd.Series] = {}
    for feature in schema.features:
        values = raw[feature.name]
        if feature.type is FeatureType.NUMERIC:
            columns[feature.name] = pd.to_numeric(values.where(values.map(is_number)), errors="coerce").astype(float)
        elif feature.type is FeatureType.BOOLEAN:
            flags = values.map(lambda v: None if not is_flag(v) else v.strip().lower() in TRUE_VALUES)
            columns[feature.name] = flags.astype(bool) if not feature.nullable else flags.astype(object)
        elif feature.type is FeatureType.CATEGORICAL:
            columns[feature.name] = values.map(lambda v: v if v != "" else None).astype(object)
        else:
            columns[feature.name] = values.astype(str)
    return pd.DataFrame(columns, index=raw.index)


# -- inferring a schema ------------------------------------------------------------------------------------------


def infer_feature(name: str, values: pd.Series, *, text: bool = False) -> Feature:
    """The type a column's raw values suggest: flags, numbers, a few short values (categorical), else text."""
    present = values[values != ""]
    nullable = len(present) < len(values)
    if text:
        return Feature(name=name, type=FeatureType.TEXT, nullable=nullable)
    distinct = sorted(set(present.tolist()))
    if distinct and all(is_flag(value) for value in distinct) and len({v.lower() for v in distinct}) <= 2:
        return Feature(name=name, type=FeatureType.BOOLEAN, nullable=nullable)
    if distinct and all(is_number(value) for value in distinct):
        return Feature(name=name, type=FeatureType.NUMERIC, nullable=nullable)
    short = all(len(value) <= MAX_CATEGORY_CHARS for value in distinct)
    if distinct and short and len(distinct) <= min(MAX_CATEGORIES, max(2, math.ceil(len(values) / 2))):
        return Feature(name=name, type=FeatureType.CATEGORICAL, nullable=nullable, categories=tuple(distinct))
    return Feature(name=name, type=FeatureType.TEXT, nullable=nullable)


def infer_schema(
    raw: pd.DataFrame,
    target: str,
    features: tuple[str, ...] = (),
    text_columns: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
) -> DataSchema:
    """A schema for ``raw`` (every value as text): the named ``features``, or all other columns but ``exclude``.

    ``text_columns`` are text however their values look; the others get the type their values suggest.
    """
    chosen = list(features) if features else [c for c in raw.columns if c != target and c not in exclude]
    chosen += [column for column in text_columns if column not in chosen]
    inferred = tuple(infer_feature(column, raw[column], text=column in text_columns) for column in chosen)
    return DataSchema(target=target, features=inferred)


def json_records(features: pd.DataFrame) -> list[dict[str, Any]]:
    """Typed rows as JSON-ready records: missing values as None, NumPy scalars as Python values."""
    plain = features.astype(object).where(features.notna(), None)
    return [
        {str(k): (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in plain.to_dict("records")
    ]
