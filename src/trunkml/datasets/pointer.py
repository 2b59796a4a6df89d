"""Dataset pointers: what a team declares in git about one dataset version.

A pointer (``datasets/<name>/dataset.yaml``) pins content by sha256 and size and
says where the bytes live (``uri``) and how to read them. It is a frozen record:
a new version is a new pointer, never an edit of an old one.
"""

from __future__ import annotations

import math
import re
from enum import StrEnum
from typing import Self
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from trunkml.config.classes import class_names
from trunkml.datasets.generators import generator_schemes
from trunkml.datasets.schema import DataSchema, FeatureType, text_schema
from trunkml.errors import UnsafePathError, UsageError

NAME_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$")
SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")
REMOTE_SCHEMES = frozenset({"http", "https", "s3", "gs", "gcs", "az", "abfs", "abfss"})
LOCAL_SCHEMES = frozenset({"", "file"})
SPLIT_SCHEME = "split"


class DataFormat(StrEnum):
    """Tabular formats a pointer may declare."""

    CSV = "csv"
    PARQUET = "parquet"
    JSONL = "jsonl"


def check_name(name: str) -> str:
    """Return ``name`` if it is a safe dataset name, else raise :class:`UnsafePathError`.

    Names become folder names, so only lower-case letters, digits, ``.``, ``_`` and
    ``-`` are allowed, never ``..``, and never a leading separator.
    """
    decoded = unquote(unquote(name))
    if ".." in decoded or "/" in decoded or "\\" in decoded or not NAME_PATTERN.match(name):
        raise UnsafePathError(
            f"dataset name '{name}' is not allowed",
            hint="use lower-case letters, digits, '.', '_' or '-' (no '..', no slashes), e.g. 'fortuna-2019'",
        )
    return name


def check_uri(uri: str) -> str:
    """Return ``uri`` if its scheme is known and its path cannot climb out of where it points.

    Percent-encoded traversal (``%2e%2e%2f``) is decoded before checking, and local
    pointer URIs must be relative to the project root, so a pointer committed in
    git never names a machine-specific path.
    """
    if re.match(r"^[A-Za-z]:[/\\]", uri):
        raise UnsafePathError(f"uri '{uri}' is an absolute local path", hint="use a path relative to the project root")
    if re.search(r"[\x00-\x1f\x7f]", unquote(unquote(uri))):
        raise UnsafePathError(f"uri {uri!r} contains a NUL byte or a control character")
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    decoded = unquote(unquote(parts.path))
    segments = re.split(r"[/\\]", decoded)
    if ".." in segments:
        raise UnsafePathError(f"uri '{uri}' contains a '..' segment", hint="point at the file itself")
    if scheme in LOCAL_SCHEMES:
        if decoded.startswith("~") or "#" in uri or ";" in uri:
            raise UnsafePathError(f"uri '{uri}' is not a plain relative path ('~', '#' or ';')")
        if parts.netloc or decoded.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", decoded):
            raise UnsafePathError(
                f"uri '{uri}' is an absolute local path",
                hint="pointers are shared through git: use a path relative to the project root or a remote uri",
            )
    elif scheme not in REMOTE_SCHEMES and scheme != SPLIT_SCHEME and scheme not in generator_schemes():
        raise UsageError(
            f"uri '{uri}' has unsupported scheme '{scheme}'",
            hint="use a relative path, file:, http(s)://, s3://, gs://, az://, split: or a generator's scheme (synth:)",
        )
    return uri


class SliceSpec(BaseModel):
    """Slices of a dataset the gate reports (and guards) metrics on.

    ``columns`` name columns of the file (for a ``split:`` dataset, of its parent): a 0/1 column
    is one slice (its rows with 1), any other column gives one slice per value. ``length_buckets``
    are word-count edges: ``[10, 25]`` makes the slices ``words <10``, ``words 10-24`` and ``words >=25``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: tuple[str, ...] = ()
    length_buckets: tuple[int, ...] = ()
    numeric_buckets: dict[str, tuple[float, ...]] = Field(
        default_factory=dict,
        description="Numeric feature → increasing edges: {age: [30, 60]} makes age <30, age 30-60 and age >=60.",
    )

    @field_validator("columns")
    @classmethod
    def _distinct_columns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value) or any(not column.strip() for column in value):
            raise ValueError("slice columns must be distinct, non-empty column names")
        return value

    @field_validator("length_buckets")
    @classmethod
    def _increasing(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(edge < 1 for edge in value) or list(value) != sorted(set(value)):
            raise ValueError("length_buckets must be increasing word counts of at least 1, e.g. [10, 25]")
        return value

    @field_validator("numeric_buckets")
    @classmethod
    def _increasing_edges(cls, value: dict[str, tuple[float, ...]]) -> dict[str, tuple[float, ...]]:
        for column, edges in value.items():
            if not edges or list(edges) != sorted(set(edges)) or not all(math.isfinite(e) for e in edges):
                raise ValueError(f"numeric_buckets[{column}] must be increasing finite edges, e.g. [30, 60]")
        return value


class DatasetPointer(BaseModel):
    """One pinned dataset version, exactly as committed in ``datasets/<name>/dataset.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_name=True, serialize_by_alias=True)

    name: str
    version: int = Field(ge=1)
    description: str = ""
    uri: str
    sha256: str
    size_bytes: int = Field(ge=0)
    format: DataFormat = DataFormat.CSV
    text_column: str | None = Field(default=None, min_length=1, description="Text-only form: the text column.")
    label_column: str | None = Field(default=None, min_length=1, description="Text-only form: the label column.")
    data_schema: DataSchema | None = Field(
        default=None, alias="schema", description="The target and the typed features (any model's inputs)."
    )
    labels: dict[str, int] = Field(
        default_factory=dict,
        description="Raw label value (as text) → class: binary 1 is the positive class, 0 the negative; "
        "multiclass 0..K-1; regression none (the target is a number).",
    )
    source: str = ""
    license: str = ""
    synthetic: bool = Field(default=False, description="True for generated demo data: never real text.")
    slices: SliceSpec | None = Field(default=None, description="Slices the gate reports per-slice metrics on.")
    classes: dict[int, str] | None = Field(
        default=None,
        description="Class → the name people read (plots, reports, explanations, the API); "
        "default {0: 'negative (0)', 1: 'positive (1)'}.",
    )

    @field_validator("name")
    @classmethod
    def _name_is_safe(cls, value: str) -> str:
        return check_name(value)

    @field_validator("uri")
    @classmethod
    def _uri_is_safe(cls, value: str) -> str:
        return check_uri(value)

    @field_validator("sha256")
    @classmethod
    def _sha_is_hex(cls, value: str) -> str:
        if not SHA256_PATTERN.match(value):
            raise ValueError("must be 64 lower-case hex characters")
        return value

    @field_validator("labels", mode="before")
    @classmethod
    def _label_keys_as_text(cls, value: object) -> object:
        # Raw labels are compared as text; YAML reads an unquoted `0:` key as an integer.
        return {str(key): item for key, item in value.items()} if isinstance(value, dict) else value

    def _check_labels(self) -> None:
        """The label mapping and class names fit the task (see ``labels``)."""
        task, classes = self.task, set(self.labels.values())
        if task == "binary" and (not self.labels or not classes <= {0, 1}):
            raise ValueError("labels must map raw label values to 0 or 1, e.g. {'0': 0, '1': 1}")
        if task == "multiclass" and (classes != set(range(len(classes))) or len(classes) < 3):
            raise ValueError("a multiclass target maps its raw values to 0..K-1 with K >= 3 (two classes: task binary)")
        if task == "regression" and self.labels:
            raise ValueError("a regression target is a number: the pointer has no labels")
        allowed = {0, 1} if task == "binary" else classes
        named = self.classes or {}
        if not set(named) <= allowed or not all(name.strip() for name in named.values()):
            raise ValueError(
                "classes must name label classes with non-empty names, e.g. {0: 'legit', 1: 'fraud'}"
                + ("" if task != "regression" else "; a regression target has none")
            )

    @property
    def task(self) -> str:
        """binary, multiclass or regression (the schema's; the text-only form is binary)."""
        return self.resolved_schema.task

    @property
    def class_list(self) -> list[str]:
        """Every class's name, in label order (empty for regression)."""
        count = len(set(self.labels.values()))
        named = self.classes or {}
        if self.task == "binary":
            return list(self.class_names)
        return [named.get(index, str(index)) for index in range(count)]

    @property
    def class_names(self) -> tuple[str, str]:
        """(name of class 0, name of class 1): ``classes``, else "negative (0)" / "positive (1)"."""
        return class_names(self.classes)

    @model_validator(mode="after")
    def _columns_differ(self) -> Self:
        legacy = self.text_column is not None or self.label_column is not None
        if legacy == (self.data_schema is not None) or (legacy and None in (self.text_column, self.label_column)):
            raise ValueError("give either schema (target and features) or both text_column and label_column")
        if legacy and self.text_column == self.label_column:
            raise ValueError("text_column and label_column must be different columns")
        self._check_labels()
        if self.slices:
            self._check_slices(self.slices)
        return self

    def _check_slices(self, slices: SliceSpec) -> None:
        schema = self.resolved_schema
        if self.target_column in slices.columns or (self.text_column and self.text_column in slices.columns):
            raise ValueError("slice columns cannot be the text or label column")
        named = {feature.name: feature.type for feature in schema.features} if self.data_schema else {}
        wrong = [c for c in slices.columns if named.get(c) in (FeatureType.TEXT, FeatureType.NUMERIC)]
        if wrong:
            raise ValueError(f"slice columns must be categorical or boolean; bucket numeric ones: {', '.join(wrong)}")
        numeric = {feature.name for feature in schema.of_type(FeatureType.NUMERIC)}
        if missing := sorted(set(slices.numeric_buckets) - numeric):
            raise ValueError(f"numeric_buckets name columns that are not numeric features: {', '.join(missing)}")

    @property
    def resolved_schema(self) -> DataSchema:
        """The declared schema; for the text-only form, one text feature (``text``) and its label column."""
        if self.data_schema is not None:
            return self.data_schema
        return text_schema(self.label_column or "label")

    @property
    def target_column(self) -> str:
        """The file's column holding the target."""
        return self.resolved_schema.target

    @property
    def ref(self) -> str:
        """``name@version``: the reference other specs use to pin this version."""
        return f"{self.name}@{self.version}"


class DatasetRef(BaseModel):
    """A parsed ``NAME`` or ``NAME@VERSION`` reference (no version means the current one)."""

    model_config = ConfigDict(frozen=True)

    name: str
    version: int | None = None

    @classmethod
    def parse(cls, text: str) -> DatasetRef:
        """Parse ``text``; bad names or versions raise a usage error that shows the form."""
        name, sep, version = text.partition("@")
        check_name(name)
        if not sep:
            return cls(name=name)
        if not re.fullmatch(r"[0-9]+", version) or int(version) < 1:
            raise UsageError(f"bad dataset reference '{text}'", hint="use NAME or NAME@VERSION, e.g. demo@2")
        return cls(name=name, version=int(version))

    def __str__(self) -> str:
        return self.name if self.version is None else f"{self.name}@{self.version}"
