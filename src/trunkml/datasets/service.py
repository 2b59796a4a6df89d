"""Dataset operations: the library behind ``trunkml data ...``.

Every path that hands rows to a caller goes through :meth:`DataService.load`,
which reads the bytes from the content store and re-hashes exactly those bytes
first. There is no way to get a frame of unverified data from this module.
"""

from __future__ import annotations

import io
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from trunkml.config import Settings, load_project
from trunkml.datasets.catalog import Catalog
from trunkml.datasets.generators import generator_schemes
from trunkml.datasets.hashing import hash_bytes, hash_file
from trunkml.datasets.loaded import LoadedDataset
from trunkml.datasets.pointer import SPLIT_SCHEME, DatasetPointer, DatasetRef, SliceSpec
from trunkml.datasets.progress import ProgressFactory, no_progress
from trunkml.datasets.results import SyncResult, SyncSummary, Where
from trunkml.datasets.sources import mirror_candidates, open_uri
from trunkml.datasets.store import ContentStore, ObjectCheck
from trunkml.errors import EXIT_REFUSED, IntegrityError, TrunkmlError, ValidationFailedError

if TYPE_CHECKING:  # pandas and pandera load lazily: verify/pull/list never parse data and start 3x faster
    import numpy as np
    from numpy.typing import NDArray

    from trunkml.datasets.validation import ValidationOutcome

VERIFY_WORKERS = 2


def _sync_result(pointer: DatasetPointer, started: float, **fields: object) -> SyncResult:
    """A result for ``pointer`` timed from ``started``; ``fields`` say what happened."""
    return SyncResult.model_validate(
        {"dataset": pointer.ref, "sha256": pointer.sha256, "seconds": time.perf_counter() - started, **fields}
    )


class DataService:
    """Dataset pointers, the content store and the mirror of one project."""

    def __init__(self, settings: Settings, progress: ProgressFactory = no_progress) -> None:
        self.settings = settings
        self.catalog = Catalog(settings.datasets_dir)
        self.store = ContentStore(settings.datastore_dir)
        self.progress = progress

    def resolve(self, refs: list[str] | None) -> list[DatasetPointer]:
        """Pointers for ``refs`` (``NAME`` or ``NAME@N``), or every current pointer when none are given."""
        if not refs:
            return self.catalog.current()
        return [self.catalog.get(DatasetRef.parse(ref)) for ref in refs]

    # -- verify -----------------------------------------------------------------
    def _check_file(self, pointer: DatasetPointer, path: Path) -> tuple[str, int]:
        with self.progress(f"hashing {pointer.ref}", path.stat().st_size) as advance:
            return hash_file(path, advance)

    def _verify_one(self, pointer: DatasetPointer) -> SyncResult:
        started = time.perf_counter()
        with self.progress(f"verifying {pointer.ref}", pointer.size_bytes) as advance:
            check = self.store.check(pointer.sha256, advance)
        if check.state.value != "missing":
            return self._result(pointer, check, Where.STORE, started)
        mirror = self.settings.mirror_dir
        wrong: list[str] = []
        for candidate in mirror_candidates(mirror, pointer.uri, pointer.sha256) if mirror else []:
            digest, size = self._check_file(pointer, candidate)
            if digest == pointer.sha256:
                return _sync_result(
                    pointer, started, ok=True, where=Where.MIRROR, detail=str(candidate), size_bytes=size
                )
            wrong.append(f"mirror file {candidate} has sha256 {digest[:12]}…, not {pointer.sha256[:12]}…")
        generated = self._generated(pointer)
        if generated is not None:
            ok = hash_bytes(generated) == pointer.sha256
            return _sync_result(
                pointer,
                started,
                ok=ok,
                where=Where.URI,
                size_bytes=len(generated),
                detail="regenerated from " + pointer.uri if ok else f"regenerating {pointer.uri} gives other bytes",
                exit_code=0 if ok else EXIT_REFUSED,
            )
        detail = "; ".join(wrong) or "not in the local store or the mirror"
        return _sync_result(
            pointer,
            started,
            ok=False,
            where=Where.NOWHERE,
            exit_code=EXIT_REFUSED,
            detail=f"{detail}; run `trunkml data pull {pointer.ref}`",
        )

    def _result(self, pointer: DatasetPointer, check: ObjectCheck, where: Where, started: float) -> SyncResult:
        ok = check.ok and check.size_bytes == pointer.size_bytes
        detail = (
            check.detail
            if not check.ok
            else ("" if ok else f"size {check.size_bytes} != pointer's {pointer.size_bytes}")
        )
        if not ok:
            detail += f"; run `trunkml data pull {pointer.ref}` to restore it, or fix the pointer"
        return _sync_result(
            pointer,
            started,
            ok=ok,
            where=where,
            detail=detail,
            size_bytes=check.size_bytes,
            exit_code=0 if ok else EXIT_REFUSED,
        )

    def targets(
        self, refs: list[str] | None, all_versions: bool = False
    ) -> tuple[list[DatasetPointer], list[SyncResult]]:
        """Pointers to act on, plus a failed result for each pointer file that does not load.

        Named refs must all load. Without names: every dataset's current version (or every
        archived version), and one broken pointer is reported without hiding the others.
        """
        if refs:
            return self.resolve(refs), []
        pointers, errors = self.catalog.current_or_errors()
        if all_versions:
            wanted = [DatasetRef(name=p.name, version=v) for p in pointers for v in self.catalog.versions(p.name)]
            pointers = []
            for ref in wanted:
                try:
                    pointers.append(self.catalog.get(ref))
                except TrunkmlError as exc:
                    errors[str(ref)] = exc
        failed = [
            SyncResult(dataset=name, sha256="", ok=False, where=Where.NOWHERE, detail=str(exc), exit_code=exc.exit_code)
            for name, exc in errors.items()
        ]
        return pointers, failed

    def verify(self, refs: list[str] | None = None, all_versions: bool = False) -> SyncSummary:
        """Re-hash each dataset's content (store, else mirror); ok only if every hash matches."""
        pointers, failed = self.targets(refs, all_versions)
        with ThreadPoolExecutor(max_workers=VERIFY_WORKERS) as pool:
            return SyncSummary(results=[*failed, *pool.map(self._verify_one, pointers)])

    # -- pull -------------------------------------------------------------------
    def _generated(self, pointer: DatasetPointer) -> bytes | None:
        """The bytes of a dataset this machine can regenerate (``split:`` parts, generated data), else None."""
        scheme = pointer.uri.partition(":")[0]
        if scheme == SPLIT_SCHEME:
            from trunkml.datasets.derived import derive

            return derive(self.load_valid, pointer.uri)[0]
        if scheme in generator_schemes():
            from trunkml.datasets.generators import generate

            return generate(pointer.uri)
        return None

    def _fetch(self, pointer: DatasetPointer) -> tuple[Where, str]:
        """Fill the store from the mirror, else the URI; every source is hashed on the way in."""
        generated = self._generated(pointer)
        if generated is not None:
            self.store.ingest(io.BytesIO(generated), expected=pointer.sha256, label=pointer.ref)
            return Where.URI, pointer.uri
        problems: list[str] = []
        mirror = self.settings.mirror_dir
        for candidate in mirror_candidates(mirror, pointer.uri, pointer.sha256) if mirror else []:
            try:
                with self.progress(f"pulling {pointer.ref}", candidate.stat().st_size) as advance:
                    self.store.ingest_file(candidate, expected=pointer.sha256, label=pointer.ref, progress=advance)
                return Where.MIRROR, str(candidate)
            except IntegrityError as exc:
                problems.append(f"{candidate}: {exc.message}")
        try:
            with (
                open_uri(pointer.uri, pointer.ref, self.settings.project_root, self.settings.http_timeout_s) as stream,
                self.progress(f"pulling {pointer.ref}", pointer.size_bytes) as advance,
            ):
                self.store.ingest(stream, expected=pointer.sha256, label=pointer.ref, progress=advance)
        except TrunkmlError as exc:
            if problems:
                exc.hint = "; ".join([*problems, exc.hint or ""]).strip("; ")
            raise
        return Where.URI, pointer.uri

    def _pull_one(self, pointer: DatasetPointer) -> SyncResult:
        started = time.perf_counter()
        if self.store.check(pointer.sha256).ok:
            return _sync_result(
                pointer,
                started,
                ok=True,
                where=Where.STORE,
                detail="already present",
                size_bytes=pointer.size_bytes,
            )
        try:
            where, detail = self._fetch(pointer)
        except TrunkmlError as exc:
            return _sync_result(
                pointer,
                started,
                ok=False,
                where=Where.NOWHERE,
                detail=str(exc),
                exit_code=exc.exit_code,
            )
        return _sync_result(
            pointer,
            started,
            ok=True,
            where=where,
            detail=detail,
            size_bytes=pointer.size_bytes,
        )

    def pull(self, refs: list[str] | None = None, all_versions: bool = False) -> SyncSummary:
        """Make sure the store holds verified content for each dataset; repairs corrupt objects."""
        pointers, failed = self.targets(refs, all_versions)
        return SyncSummary(results=[*failed, *(self._pull_one(pointer) for pointer in pointers)])

    # -- load and validate --------------------------------------------------------
    def load(self, ref: str | DatasetPointer) -> LoadedDataset:
        """Return the verified rows of ``ref``, pulling it first if the store lacks it."""
        pointer = ref if isinstance(ref, DatasetPointer) else self.catalog.get(DatasetRef.parse(ref))
        if not self.store.contains(pointer.sha256):
            result = self._pull_one(pointer)
            if not result.ok:
                raise IntegrityError(f"dataset '{pointer.ref}' could not be pulled: {result.detail}")
        from trunkml.datasets.tabular import read_frame

        data = self.store.read_verified(pointer.sha256, pointer.ref)
        return LoadedDataset(pointer=pointer, frame=read_frame(data, pointer))

    def validate(self, ref: str, against: str | None = None, max_overlap: float | None = None) -> ValidationOutcome:
        """Validate ``ref`` (and ``against``), and check leakage from ``ref`` into ``against``."""
        from trunkml.datasets.leakage import find_leakage
        from trunkml.datasets.validation import ValidationOutcome, validate_frame

        train = self.load(ref)
        reports = [validate_frame(train)]
        if against is None:
            return ValidationOutcome(reports=reports)
        held_out = self.load(against)
        reports.append(validate_frame(held_out))
        allowance = (
            load_project(self.settings.project_root).data.max_eval_overlap if max_overlap is None else max_overlap
        )
        leakage = find_leakage(
            train.features(),
            held_out.features(),
            train=train.pointer.ref,
            eval=held_out.pointer.ref,
            allowance=allowance,
        )
        return ValidationOutcome(reports=reports, leakage=leakage)

    def _validated_marker(self, pointer: DatasetPointer) -> Path:
        from trunkml.datasets.validation import VALIDATION_VERSION

        schema = pointer.resolved_schema.model_dump_json()
        key = hash_bytes(f"{pointer.sha256}:{sorted(pointer.labels.items())}:{schema}:{VALIDATION_VERSION}".encode())
        return self.settings.home_dir / "cache" / "validated" / key

    def slices(self, loaded: LoadedDataset) -> dict[str, NDArray[np.bool_]]:
        """Slice name → row mask of ``loaded``, for the slices its pointer declares (none: empty)."""
        from trunkml.datasets.slice_masks import slice_masks

        return slice_masks(loaded, self.store.read_verified, self.load_valid)

    def declare_slices(self, ref: str, spec: SliceSpec) -> DatasetPointer:
        """Write a new version of ``ref``'s pointer with the same bytes and these slices (versions never change)."""
        pointer = self.catalog.get(DatasetRef.parse(ref))
        if pointer.slices == spec:
            return pointer
        latest = max(self.catalog.versions(pointer.name))
        updated = pointer.model_copy(update={"version": latest + 1, "slices": spec})
        checked = DatasetPointer.model_validate(updated.model_dump())
        self.slices(LoadedDataset(checked, self.load(pointer).frame))  # every column exists and is usable
        self.catalog.save(checked)
        return checked

    def load_valid(self, ref: str | DatasetPointer) -> LoadedDataset:
        """Load ``ref`` (always re-verified) and refuse it if validation finds errors (what training uses).

        Validation is a pure function of the verified bytes and the label mapping, so a pass is
        remembered per (sha256, mapping, validation code version) and not recomputed.
        """
        from trunkml.datasets.validation import validate_frame

        loaded = self.load(ref)
        marker = self._validated_marker(loaded.pointer)
        if marker.is_file():
            return loaded
        report = validate_frame(loaded)
        if not report.ok:
            problems = "; ".join(issue.message for issue in report.errors)
            raise ValidationFailedError(
                f"dataset '{loaded.pointer.ref}' failed validation: {problems}",
                hint=f"run `trunkml data validate {loaded.pointer.ref}` for details",
            )
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(report.model_dump_json(), encoding="utf-8")
        except OSError:
            pass  # a cache that cannot be written only costs time
        return loaded
