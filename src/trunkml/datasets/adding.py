"""Adding dataset versions: hash, store, check columns, write the pointer.

Adding the same content again is a no-op; adding new content under an existing
name writes the next version and leaves the old one archived and retrievable.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Literal

from filelock import FileLock, Timeout
from pydantic import BaseModel, ConfigDict, ValidationError

from trunkml.datasets.pointer import DataFormat, DatasetPointer, DatasetRef, check_name, check_uri
from trunkml.datasets.results import AddResult
from trunkml.datasets.schema import DataSchema, is_number
from trunkml.datasets.service import DataService
from trunkml.datasets.sources import mirror_candidates, open_uri, uri_file_name
from trunkml.datasets.split import SplitSpec
from trunkml.errors import ConfigError, NotFoundError, UnavailableError, UsageError

SUFFIX_FORMATS = {
    ".csv": DataFormat.CSV,
    ".parquet": DataFormat.PARQUET,
    ".pq": DataFormat.PARQUET,
    ".jsonl": DataFormat.JSONL,
    ".ndjson": DataFormat.JSONL,
}
LOCK_TIMEOUT_S = 120
BINARY_LABELS = ({"0", "1"}, {"false", "true"}, {"False", "True"}, {"no", "yes"}, {"No", "Yes"})


class AddRequest(BaseModel):
    """What the user asked ``data add`` to record."""

    model_config = ConfigDict(frozen=True)

    name: str
    file: Path | None = None
    uri: str | None = None
    text_column: str | None = None
    """The text-only shorthand's text column (with ``label_column``)."""
    label_column: str | None = None
    target: str | None = None
    """The target column: with it, the pointer gets a schema of typed features."""
    features: tuple[str, ...] = ()
    """The feature columns (default: every column but the target and ``exclude``)."""
    text_columns: tuple[str, ...] = ()
    """Columns that are text, however their values look."""
    exclude: tuple[str, ...] = ()
    positive: str | None = None
    """The target value that is the positive class (label 1)."""
    task: Literal["binary", "multiclass", "regression"] | None = None
    """The task; inferred from the target's values when not given (see :func:`infer_task`)."""
    labels: dict[str, int] | None = None
    version: int | None = None
    format: DataFormat | None = None
    description: str = ""
    source: str = ""
    license: str = ""
    synthetic: bool = False
    classes: dict[int, str] | None = None
    data_schema: DataSchema | None = None
    """Set by ``add_dataset`` from the file (inferred) or, for a split, from the parent."""


def infer_format(location: str) -> DataFormat:
    """Guess the format from a file name's suffix (CSV when unknown)."""
    return SUFFIX_FORMATS.get(PurePosixPath(location).suffix.lower(), DataFormat.CSV)


def infer_labels(values: set[str], label_column: str) -> dict[str, int]:
    """Map obvious binary label spellings to 0/1; anything else must be given explicitly."""
    for spelling in BINARY_LABELS:
        if values <= spelling:
            negative, positive = sorted(spelling)
            return {negative: 0, positive: 1}
    shown = ", ".join(sorted(values)[:10])
    raise UsageError(
        f"cannot infer which values of '{label_column}' are positive: {shown}",
        hint="name the positive class (--positive VALUE), or map every value: --label-map fraud=1 --label-map legit=0",
    )


def _project_relative(path: Path, root: Path) -> str:
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        raise UsageError(
            f"{path} is outside the project, so teammates could not fetch it from the pointer",
            hint="pass --uri with where the team reads it (https://, s3://, ...), or move it into the project",
        )
    return resolved.relative_to(root).as_posix()


def _ingest(service: DataService, request: AddRequest) -> tuple[str, int, str, str]:
    """Store the request's bytes; return (sha256, size, uri, where they were read from)."""
    root = service.settings.project_root
    if request.file is not None:
        if not request.file.is_file():
            raise NotFoundError(f"{request.file}: no such file")
        uri = check_uri(request.uri) if request.uri else _project_relative(request.file, root)
        sha, size = service.store.ingest_file(request.file, label=request.name)
        return sha, size, uri, str(request.file)
    if not request.uri:
        raise UsageError("nothing to add", hint="pass --file PATH or --uri URI")
    uri = check_uri(request.uri)
    try:
        with open_uri(uri, request.name, root, service.settings.http_timeout_s) as stream:
            sha, size = service.store.ingest(stream, label=request.name)
        return sha, size, uri, uri
    except UnavailableError:
        mirror = service.settings.mirror_dir
        candidates = mirror_candidates(mirror, uri) if mirror else []
        if not candidates:
            raise
        if len(candidates) > 1:
            raise UsageError(
                f"the mirror has {len(candidates)} files named '{uri_file_name(uri)}'; cannot tell which one {uri} is",
                hint="add it with --file PATH --uri URI",
            ) from None
        sha, size = service.store.ingest_file(candidates[0], label=request.name)
        return sha, size, uri, f"mirror: {candidates[0]}"


def _next_version(service: DataService, request: AddRequest) -> tuple[DatasetPointer | None, int]:
    try:
        current = service.catalog.get(DatasetRef(name=request.name))
    except NotFoundError:
        current = None
    latest = max(service.catalog.versions(request.name), default=0) if current else 0
    if request.version is not None and request.version < 1:
        raise UsageError("dataset versions start at 1")
    if request.version is not None and request.version <= latest:
        raise UsageError(
            f"dataset '{request.name}' is already at version {latest}",
            hint=f"versions only go up: use --version {latest + 1} or leave it out",
        )
    return current, request.version or latest + 1


def positive_labels(values: set[str], target: str, positive: str) -> dict[str, int]:
    """``positive`` → 1 and the target's other value → 0; a binary target has exactly two values."""
    if positive not in values:
        raise UsageError(
            f"--positive {positive!r} does not occur in '{target}' (values: {', '.join(sorted(values)[:10])})"
        )
    if len(values) != 2:
        raise UsageError(
            f"'{target}' has {len(values)} distinct values; a binary target has 2",
            hint="map them with --label-map RAW=0|1, or recode the column",
        )
    return {value: int(value == positive) for value in values}


def _resolve_schema(request: AddRequest, data: bytes, fmt: DataFormat) -> tuple[AddRequest, list[str]]:
    """The request with its schema (or text-only columns) settled, and the target's raw values, in row order."""
    from trunkml.datasets.columns import LABEL
    from trunkml.datasets.schema import infer_schema
    from trunkml.datasets.tabular import parse_file, raw_text, read_table, require_columns

    if request.target is None and not request.features and len(request.text_columns) <= 1 and request.label_column:
        text = request.text_columns[0] if request.text_columns else request.text_column
        if text is None:
            raise UsageError("name the text column (--text-column) or the target (--target)")
        if request.task not in (None, "binary"):
            raise UsageError(f"the text-only form (--text-column/--label-column) is binary; for {request.task}, "
                             "name the target with --target")  # fmt: skip
        frame = read_table(data, fmt, text, request.label_column, request.name)
        return request.model_copy(update={"text_column": text}), frame[LABEL].tolist()
    target = request.target or request.label_column
    if target is None:
        raise UsageError("name the target column", hint="--target COLUMN (with --text-column/--features as needed)")
    raw = parse_file(data, fmt, request.name)
    require_columns(raw, [target, *request.features, *request.text_columns, *request.exclude], request.name)
    raw = raw_text(raw)
    schema = infer_schema(raw, target, request.features, request.text_columns, request.exclude)
    return request.model_copy(update={"data_schema": schema}), raw[target].tolist()


MAX_CLASSES = 50
"""The most distinct values a target may have and still be read as classes."""


def infer_task(values: list[str], target: str) -> str:
    """binary for two values; regression for numbers with fractions or over 20 values; else multiclass."""
    distinct = set(values) - {""}
    if len(distinct) == 2:
        return "binary"
    numbers = all(is_number(value) for value in distinct)
    if numbers and (len(distinct) > 20 or any(not float(value).is_integer() for value in distinct)):
        return "regression"
    if 3 <= len(distinct) <= MAX_CLASSES:
        return "multiclass"
    raise UsageError(
        f"cannot tell the task from '{target}': {len(distinct)} distinct values"
        + ("" if numbers else " that are not all numbers"),
        hint="pass --task binary|multiclass|regression",
    )


def regression_values(values: list[str], target: str) -> None:
    """Refuse a regression target with values that are not numbers, listing up to 5 rows."""
    bad = [(row, value) for row, value in enumerate(values, start=1) if not is_number(value)]
    if bad:
        shown = ", ".join(f"row {row} {value!r}" for row, value in bad[:5])
        raise UsageError(
            f"'{target}' is a regression target, but {len(bad)} value(s) are not numbers: {shown}",
            hint="fix or drop those rows; a regression target must be a number on every row",
        )


def class_labels(values: list[str]) -> dict[str, int]:
    """A multi-class target's values → 0..K-1, in numeric order when they are numbers, else alphabetical."""
    distinct = sorted(set(values) - {""})
    if all(is_number(value) for value in distinct):
        distinct.sort(key=float)
    return {value: index for index, value in enumerate(distinct)}


def _labels(request: AddRequest, values: list[str], task: str) -> dict[str, int]:
    target = request.target or request.label_column or ""
    if task == "regression":
        regression_values(values, target)
        return {}
    if request.labels:
        return request.labels
    if task == "multiclass":
        return class_labels(values)
    if request.positive is not None:
        return positive_labels(set(values), target, request.positive)
    return infer_labels(set(values), target)


def add_dataset(service: DataService, request: AddRequest) -> AddResult:
    """Hash and store the data, check its columns, infer its schema and task, and write the next pointer version."""
    check_name(request.name)
    sha, size, uri, read_from = _ingest(service, request)
    fmt = request.format or infer_format(uri if request.file is None else str(request.file))
    data = service.store.read_verified(sha, request.name)
    request, values = _resolve_schema(request, data, fmt)
    target = request.target or request.label_column or ""
    explicit_binary = request.positive is not None or bool(request.labels and set(request.labels.values()) <= {0, 1})
    task: str
    if request.task is not None:
        task = request.task
    elif request.data_schema is None or explicit_binary:
        task = "binary"
    else:
        task = infer_task(values, target)
    labels = _labels(request, values, task)
    if request.data_schema is not None:
        request = request.model_copy(update={"data_schema": request.data_schema.model_copy(update={"task": task})})
    if request.data_schema is not None and request.classes is None and task != "regression":
        names = {index: raw for raw, index in sorted(labels.items())}
        request = request.model_copy(update={"classes": names})
    with _dataset_lock(service, request.name):
        return _write_version(service, request, sha, size, uri, fmt, labels, read_from)


@contextmanager
def _dataset_lock(service: DataService, name: str) -> Iterator[None]:
    """One writer per dataset at a time, across processes, so version numbers are never shared."""
    locks = service.settings.home_dir / "locks"
    try:
        locks.mkdir(parents=True, exist_ok=True)
        with FileLock(str(locks / f"dataset-{name}.lock"), timeout=LOCK_TIMEOUT_S):
            yield
    except Timeout as exc:
        raise UnavailableError(f"dataset '{name}' is being written by another process", hint="try again") from exc


def _same_content(a: DatasetPointer, b: DatasetPointer) -> bool:
    """Same bytes read the same way (descriptions may differ)."""
    keys = ("sha256", "uri", "format", "text_column", "label_column", "data_schema", "labels", "classes")
    return all(getattr(a, key) == getattr(b, key) for key in keys)


def _write_version(
    service: DataService,
    request: AddRequest,
    sha: str,
    size: int,
    uri: str,
    fmt: DataFormat,
    labels: dict[str, int],
    read_from: str,
) -> AddResult:
    current, version = _next_version(service, request)
    fields = request.model_dump(
        include={
            "name", "text_column", "label_column", "description", "source", "license", "synthetic", "classes",
            "data_schema",
        }
    )  # fmt: skip
    if fields.get("data_schema") is not None:
        fields["text_column"] = fields["label_column"] = None
    else:
        fields.pop("data_schema", None)
    try:
        pointer = DatasetPointer(
            **fields, version=version, uri=uri, sha256=sha, size_bytes=size, format=fmt, labels=labels
        )
    except ValidationError as exc:
        raise ConfigError(f"cannot write pointer for '{request.name}': {exc.errors()[0]['msg']}") from exc
    if current is not None and _same_content(current, pointer):
        return AddResult(pointer=current, created=False, previous_version=current.version, read_from=read_from)
    service.catalog.save(pointer)
    return AddResult(
        pointer=pointer, created=True, previous_version=current.version if current else None, read_from=read_from
    )


def add_split(service: DataService, ref: str, spec: SplitSpec, prefix: str) -> list[AddResult]:
    """Add ``PREFIX-train`` and ``PREFIX-eval``: the parts of a seeded split of ``ref`` as their own pointers."""
    from trunkml.datasets.derived import PARTS, derive, split_uri

    check_name(f"{prefix}-train")
    parent = service.catalog.get(DatasetRef.parse(ref))
    results = []
    for part in PARTS:
        uri = split_uri(parent.ref, part, spec)
        data, record = derive(service.load_valid, uri)
        sha, size = service.store.ingest(io.BytesIO(data), label=f"{prefix}-{part}")
        rows = record.train_rows if part == "train" else record.eval_rows
        schema = parent.data_schema.model_copy(update={"target": "label"}) if parent.data_schema else None
        request = AddRequest(
            name=f"{prefix}-{part}",
            uri=uri,
            text_column=None if schema else "text",
            label_column=None if schema else "label",
            data_schema=schema,
            labels={str(index): index for index in sorted(set(parent.labels.values()))},
            description=f"{part} part ({rows} rows) of {parent.ref}: seeded, stratified, duplicate-aware split "
            f"(seed {spec.seed}, eval fraction {spec.eval_fraction})",
            source=f"derived from {parent.ref} (sha256 {parent.sha256})",
            license=parent.license,
            synthetic=parent.synthetic,
            classes=parent.classes,
        )
        with _dataset_lock(service, request.name):
            results.append(
                _write_version(
                    service, request, sha, size, uri, DataFormat.CSV, request.labels or {}, f"derived from {parent.ref}"
                )
            )
    return results
