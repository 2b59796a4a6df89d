"""``trunkml data ...``: dataset pointers, the verified store, validation and demo data."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Optional

import typer
from rich.table import Table

from trunkml.cli.context import load_settings
from trunkml.cli.output import RichProgress, human_bytes, out, print_json
from trunkml.datasets import (
    AddRequest,
    AddResult,
    DataFormat,
    DataService,
    SyncSummary,
    add_dataset,
)
from trunkml.datasets.pointer import DatasetRef
from trunkml.demo.synthdata import SynthSpec, synth_dataset
from trunkml.errors import EXIT_REFUSED, UsageError

if TYPE_CHECKING:  # pandas-backed; imported lazily so hashing-only commands start fast
    from trunkml.datasets.validation import ValidationOutcome, ValidationReport

app = typer.Typer(help="Dataset pointers, the verified content store, validation and demo data.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document to stdout.")]
AllVersionsOpt = Annotated[
    bool, typer.Option("--all-versions", help="Every archived version, not just the current one of each dataset.")
]
RefsArg = Annotated[Optional[list[str]], typer.Argument(help="NAME or NAME@VERSION (default: every dataset).")]  # noqa: UP045


def _service(progress: RichProgress | None = None) -> DataService:
    settings = load_settings()
    return DataService(settings, progress) if progress else DataService(settings)


def parse_label_map(items: list[str]) -> dict[str, int] | None:
    """Parse ``raw=0|1`` items into a label mapping (None when no items are given)."""
    if not items:
        return None
    mapping: dict[str, int] = {}
    for item in items:
        raw, sep, cls = item.rpartition("=")
        if not sep or cls not in {"0", "1"}:
            raise UsageError(
                f"bad --label-map '{item}'", hint="use RAW=1 for the positive class and RAW=0 for the negative"
            )
        mapping[raw] = int(cls)
    return mapping


def parse_class_names(items: list[str]) -> dict[int, str] | None:
    """Parse ``0|1=NAME`` items into class names (None when no items are given)."""
    if not items:
        return None
    names: dict[int, str] = {}
    for item in items:
        cls, sep, name = item.partition("=")
        if not sep or cls not in {"0", "1"} or not name.strip():
            hint = "use 1=NAME for the positive class, 0=NAME for the other"
            raise UsageError(f"bad --class-name '{item}'", hint=hint)
        names[int(cls)] = name.strip()
    return names


ClassNamesOpt = Annotated[
    list[str],
    typer.Option("--class-name", help="0|1=NAME, repeatable: how reports and the API name each class."),
]


def _render_add(result: AddResult) -> None:
    pointer = result.pointer
    if not result.created:
        out.print(f"[yellow]unchanged[/] {pointer.ref}: same content is already the current version")
        return
    bumped = f" (was version {result.previous_version})" if result.previous_version else ""
    out.print(f"[green]added[/] {pointer.ref}{bumped}: {human_bytes(pointer.size_bytes)}, sha256 {pointer.sha256}")
    out.print(f"  pointer: datasets/{pointer.name}/dataset.yaml   read from: {result.read_from}")


def _columns(text: str) -> tuple[str, ...]:
    return tuple(column.strip() for column in text.split(",") if column.strip())


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Dataset name (lower-case, digits, . _ -).")],
    target: Annotated[
        str | None, typer.Option("--target", help="The target column; the pointer gets a schema of typed features.")
    ] = None,
    text_column: Annotated[
        list[str], typer.Option("--text-column", "-t", help="A text column (repeatable); with -l alone: text-only.")
    ] = [],  # noqa: B006
    label_column: Annotated[
        str | None, typer.Option("--label-column", "-l", help="The label column (the text-only shorthand).")
    ] = None,
    features: Annotated[
        str, typer.Option("--features", help="Comma-separated feature columns (default: all but target/excluded).")
    ] = "",
    exclude: Annotated[str, typer.Option("--exclude", help="Comma-separated columns that are not features.")] = "",
    positive: Annotated[
        str | None, typer.Option("--positive", help="The target value of the positive class (label 1).")
    ] = None,
    task: Annotated[
        Literal["binary", "multiclass", "regression"] | None,
        typer.Option("--task", help="binary, multiclass or regression (default: inferred from the target)."),
    ] = None,
    file: Annotated[Optional[Path], typer.Option("--file", "-f", help="Local file to add.")] = None,  # noqa: UP045
    uri: Annotated[
        str | None, typer.Option("--uri", "-u", help="Where the team reads the data (recorded in the pointer).")
    ] = None,
    label_map: Annotated[list[str], typer.Option("--label-map", help="RAW=0|1, repeatable (default: infer 0/1).")] = [],  # noqa: B006
    class_name: ClassNamesOpt = [],  # noqa: B006
    version: Annotated[Optional[int], typer.Option("--version", help="Explicit version (must go up).")] = None,  # noqa: UP045
    fmt: Annotated[
        DataFormat | None, typer.Option("--format", help="csv, parquet or jsonl (default: from suffix).")
    ] = None,
    description: Annotated[str, typer.Option(help="What the data is.")] = "",
    source: Annotated[str, typer.Option(help="Where it comes from (paper, repository@commit).")] = "",
    license: Annotated[str, typer.Option(help="Its license.")] = "",
    json_: JsonOpt = False,
) -> None:
    """Hash and store data, then write (or bump) its pointer in datasets/NAME/dataset.yaml."""
    request = AddRequest(
        name=name,
        file=file,
        uri=uri,
        target=target,
        text_columns=tuple(text_column),
        label_column=label_column,
        features=_columns(features),
        exclude=_columns(exclude),
        positive=positive,
        task=task,
        labels=parse_label_map(label_map),
        classes=parse_class_names(class_name),
        version=version,
        format=fmt,
        description=description,
        source=source,
        license=license,
    )
    with RichProgress() as progress:
        result = add_dataset(_service(progress), request)
    print_json(result) if json_ else _render_add(result)


@app.command("list")
def list_(json_: JsonOpt = False) -> None:
    """List current dataset pointers and whether their content is in the local store."""
    service = _service()
    pointers, errors = service.catalog.current_or_errors()
    if json_:
        print_json(
            [{**p.model_dump(mode="json"), "in_store": service.store.contains(p.sha256)} for p in pointers]
            + [{"name": name, "error": error.to_dict()} for name, error in errors.items()]
        )
        raise typer.Exit(max((e.exit_code for e in errors.values()), default=0))
    table = Table("dataset", "version", "size", "sha256", "format", "in store", "license")
    for p in pointers:
        name = f"{p.name} [magenta](demo)[/]" if p.synthetic else p.name
        in_store = "[green]yes[/]" if service.store.contains(p.sha256) else "[yellow]no[/]"
        table.add_row(
            name, str(p.version), human_bytes(p.size_bytes), p.sha256[:12], p.format.value, in_store, p.license
        )
    for name, error in errors.items():
        table.add_row(f"[red]{name}[/]", "-", "-", "-", "-", "-", f"[red]{error.message}[/]")
    out.print(
        table
        if pointers or errors
        else "no datasets yet: add one with `trunkml data add` or `trunkml data synth --add demo`"
    )
    if errors:
        raise typer.Exit(max(e.exit_code for e in errors.values()))


@app.command("show")
def show(ref: Annotated[str, typer.Argument(help="NAME or NAME@VERSION.")], json_: JsonOpt = False) -> None:
    """Show one pointer in full, its versions, and where its content sits."""
    service = _service()
    pointer = service.catalog.get(DatasetRef.parse(ref))
    versions = service.catalog.versions(pointer.name)
    in_store = service.store.contains(pointer.sha256)
    if json_:
        print_json(
            {
                **pointer.model_dump(mode="json"),
                "versions": versions,
                "in_store": in_store,
                "store_path": str(service.store.object_path(pointer.sha256)),
            }
        )
        return
    table = Table(show_header=False, box=None)
    for key, value in pointer.model_dump(mode="json").items():
        table.add_row(f"[bold]{key}[/]", str(value))
    table.add_row("[bold]versions[/]", ", ".join(map(str, versions)))
    table.add_row(
        "[bold]in store[/]",
        str(service.store.object_path(pointer.sha256)) if in_store else "no (run `trunkml data pull`)",
    )
    if pointer.synthetic:
        out.print("[magenta bold]SYNTHETIC DEMO DATA[/]: generated text, not real")
    out.print(table)


def _render_sync(summary: SyncSummary, verb: str) -> None:
    table = Table("dataset", verb, "where", "size", "seconds", "detail")
    for r in summary.results:
        status = "[green]ok[/]" if r.ok else "[red]FAILED[/]"
        table.add_row(r.dataset, status, r.where.value, human_bytes(r.size_bytes), f"{r.seconds:.2f}", r.detail)
    out.print(table)


def _finish_sync(summary: SyncSummary, verb: str, json_: bool) -> None:
    print_json({"ok": summary.ok, "results": summary.results}) if json_ else _render_sync(summary, verb)
    if not summary.ok:
        raise typer.Exit(summary.exit_code)


@app.command("verify")
def verify(refs: RefsArg = None, all_versions: AllVersionsOpt = False, json_: JsonOpt = False) -> None:
    """Re-hash every dataset's content; exit 0 only if all match their pointers (else 1)."""
    with RichProgress() as progress:
        summary = _service(progress).verify(refs, all_versions)
    _finish_sync(summary, "verified", json_)


@app.command("pull")
def pull(refs: RefsArg = None, all_versions: AllVersionsOpt = False, json_: JsonOpt = False) -> None:
    """Fill the store from the mirror or the pointer's uri, hashing everything on the way in."""
    with RichProgress() as progress:
        summary = _service(progress).pull(refs, all_versions)
    _finish_sync(summary, "pulled", json_)


def _render_report(report: ValidationReport) -> None:
    status = "[green]ok[/]" if report.ok else "[red]FAILED[/]"
    counts = report.class_counts
    if len(counts) > 2:
        classes = ", ".join(f"{cls}: {count}" for cls, count in sorted(counts.items()))
        out.print(f"[bold]{report.dataset}[/]: {status}  rows {report.rows}, by class {classes}")
    elif not counts:
        out.print(f"[bold]{report.dataset}[/]: {status}  rows {report.rows} (a numeric target)")
    else:
        out.print(
            f"[bold]{report.dataset}[/]: {status}  rows {report.rows}, class 0: {counts.get(0, 0)}, "
            f"class 1: {counts.get(1, 0)} ({report.positive_share:.1%} positive)"
        )
    for issue in report.errors:
        out.print(f"  [red]error[/] {issue.message}; rows {issue.rows} e.g. {issue.examples[:3]}")
    for issue in report.warnings:
        out.print(f"  [yellow]warning[/] {issue.message}; e.g. {issue.examples[:2]}")


def _render_validation(outcome: ValidationOutcome) -> None:
    for report in outcome.reports:
        _render_report(report)
    leak = outcome.leakage
    if leak is not None:
        status = "[green]ok[/]" if leak.ok else "[red]REFUSED[/]"
        out.print(
            f"[bold]leakage {leak.train} → {leak.eval}[/]: {status}  {leak.overlapping_rows} of {leak.eval_rows} "
            f"eval rows ({leak.share:.2%}) also in training; allowance {leak.allowance:.2%}"
        )
        for example in leak.examples:
            out.print(f"  e.g. {example!r}")


@app.command("validate")
def validate(
    ref: Annotated[str, typer.Argument(help="Dataset to validate (NAME or NAME@VERSION).")],
    against: Annotated[str | None, typer.Option("--against", help="Evaluation dataset to check for leakage.")] = None,
    max_overlap: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="Allowed eval share overlapping training, 0-1 (default: trunkml.yaml)."),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Check text, labels, duplicates, class balance and (with --against) train/eval leakage."""
    outcome = _service().validate(ref, against, max_overlap)
    if json_:
        print_json(
            {
                "ok": outcome.ok,
                "reports": outcome.reports,
                "leakage": outcome.leakage,
                "leakage_share": outcome.leakage.share if outcome.leakage else None,
            }
        )
    else:
        _render_validation(outcome)
    if not outcome.ok:
        raise typer.Exit(EXIT_REFUSED)


@app.command("split")
def split(
    ref: Annotated[str, typer.Argument(help="Dataset to split (NAME or NAME@VERSION).")],
    eval_fraction: Annotated[float, typer.Option(help="Share held out for evaluation.")] = 0.2,
    seed: Annotated[int, typer.Option(help="Seed recorded in lineage.")] = 42,
    add_as: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--add", help="Add the parts as datasets PREFIX-train and PREFIX-eval (split: pointers)."),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Preview the seeded, stratified, duplicate-aware train/eval split, or add its parts as datasets."""
    import pandas as pd

    from trunkml.datasets import add_split
    from trunkml.datasets.split import SplitSpec, split_frame

    if add_as is not None:
        results = add_split(_service(), ref, SplitSpec(eval_fraction=eval_fraction, seed=seed), add_as)
        if json_:
            print_json(results)
        for result in [] if json_ else results:
            _render_add(result)
        return
    loaded = _service().load_valid(ref)
    train, held_out, record = split_frame(loaded.labelled(), SplitSpec(eval_fraction=eval_fraction, seed=seed))
    task = loaded.pointer.resolved_schema.task
    summary: dict[str, Any] = {"dataset": loaded.pointer.ref, "sha256": loaded.pointer.sha256, "split": record}
    for part, frame in (("train", train), ("eval", held_out)):
        target = pd.to_numeric(frame["label"], errors="coerce")
        if task == "binary":
            summary[f"{part}_positive_share"] = float(target.mean())
        elif task == "multiclass":
            shares = target.astype(int).value_counts(normalize=True)
            summary[f"{part}_class_shares"] = dict(zip(shares.index.tolist(), shares.tolist(), strict=True))
        else:
            summary[f"{part}_target_mean"] = float(target.mean())
    if json_:
        print_json(summary)
        return

    def described(part: str) -> str:
        if task == "binary":
            return f"{summary[f'{part}_positive_share']:.1%} positive"
        if task == "multiclass":
            shares = summary[f"{part}_class_shares"]
            return f"{len(shares)} classes, largest {max(shares.values()):.1%}, smallest {min(shares.values()):.1%}"
        return f"target mean {summary[f'{part}_target_mean']:.4g}"

    out.print(
        f"{loaded.pointer.ref}: train {record.train_rows} rows ({described('train')}), "
        f"eval {record.eval_rows} rows ({described('eval')}), seed {record.seed}, "
        f"eval rows sha256 {record.eval_rows_sha256[:12]}"
    )


@app.command("slices")
def slices(
    ref: Annotated[str, typer.Argument(help="Dataset whose slices to declare or show (NAME or NAME@VERSION).")],
    column: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--column", "-c", help="A slice column: 0/1 (one slice) or categorical (one per value)."),
    ] = None,
    length_buckets: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Word-count edges, e.g. '10,25' for <10, 10-24 and >=25 words."),
    ] = None,
    bucket: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--bucket", "-b", help="A numeric feature cut at edges: 'age=40,60' for <40, 40-59 and >=60."),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Show a dataset's slices (rows, and positives for a binary target), or declare them as a new pointer version.

    For a split: dataset the columns come from its parent file. The bytes and sha256 stay the same.
    """
    from pydantic import ValidationError

    from trunkml.datasets.pointer import SliceSpec

    service = _service()
    pointer = service.catalog.get(DatasetRef.parse(ref))
    if column or length_buckets or bucket:
        try:
            edges = tuple(int(edge) for edge in (length_buckets or "").split(",") if edge.strip())
        except ValueError as exc:
            raise UsageError(f"--length-buckets must be comma-separated word counts, got '{length_buckets}'") from exc
        numeric: dict[str, tuple[float, ...]] = {}
        for given in bucket or ():
            name, _, cuts = given.partition("=")
            try:
                numeric[name.strip()] = tuple(float(edge) for edge in cuts.split(",") if edge.strip())
            except ValueError as exc:
                raise UsageError(f"--bucket takes COLUMN=EDGES, e.g. 'age=40,60'; got '{given}'") from exc
            if not name.strip() or not numeric[name.strip()]:
                raise UsageError(f"--bucket takes COLUMN=EDGES, e.g. 'age=40,60'; got '{given}'")
        try:
            spec = SliceSpec.model_validate(
                {"columns": tuple(column or ()), "length_buckets": edges, "numeric_buckets": numeric}
            )
        except ValidationError as exc:
            raise UsageError(f"bad slices: {exc.errors()[0]['msg']}") from exc
        pointer = service.declare_slices(ref, spec)
    loaded = service.load_valid(pointer)
    binary = pointer.resolved_schema.task == "binary"
    labels = loaded.labelled()["label"].to_numpy()
    masks = service.slices(loaded)
    table = {
        name: {"rows": int(mask.sum()), **({"positives": int(labels[mask].sum())} if binary else {})}
        for name, mask in masks.items()
    }
    if json_:
        print_json({"dataset": pointer.ref, "slices": pointer.slices, "sizes": table})
        return
    if not masks:
        out.print(f"{pointer.ref} declares no slices; add some with --column / --bucket / --length-buckets")
        return
    view = Table("slice", "rows", *(["positives"] if binary else []), title=f"slices of {pointer.ref}")
    for name, size in table.items():
        view.add_row(name, *(str(value) for value in size.values()))
    out.print(view)


@app.command("synth")
def synth(
    rows: Annotated[int, typer.Option(help="Number of rows.")] = 2000,
    seed: Annotated[int, typer.Option(help="Generator seed.")] = 7,
    label_noise: Annotated[float, typer.Option(help="Share of labels flipped at random.")] = 0.05,
    positive_share: Annotated[float, typer.Option(help="Share of positive (label 1) rows before noise.")] = 0.3,
    out_file: Annotated[Optional[Path], typer.Option("--out", help="Write the CSV here.")] = None,  # noqa: UP045
    add_as: Annotated[Optional[str], typer.Option("--add", help="Add it as this dataset (synth: pointer).")] = None,  # noqa: UP045
    class_name: ClassNamesOpt = [],  # noqa: B006
    json_: JsonOpt = False,
) -> None:
    """Generate deterministic SYNTHETIC DEMO DATA (Portuguese-like, fictional groups)."""
    spec = SynthSpec(rows=rows, seed=seed, label_noise=label_noise, positive_share=positive_share)
    result = synth_dataset(_service(), spec, out=out_file, add=add_as, classes=parse_class_names(class_name))
    if json_:
        print_json({"spec": spec, "uri": spec.to_uri(), "out": str(out_file) if out_file else None, "added": result})
        return
    out.print(f"[magenta bold]SYNTHETIC DEMO DATA[/]: {rows} rows, seed {seed}, label noise {label_noise}")
    if out_file:
        out.print(f"  written to {out_file}")
    if result:
        _render_add(result)
