"""The pointers a project commits: ``datasets/<name>/dataset.yaml`` plus immutable archives.

Each version is also archived at ``datasets/<name>/versions/<N>.yaml`` when it is
written, so ``NAME@N`` resolves without digging through git history, and an old
version stays pullable after the current pointer moves on.
"""

from __future__ import annotations

from pathlib import Path

from trunkml.config.yamlfile import dump_model, load_model
from trunkml.datasets.pointer import DatasetPointer, DatasetRef, check_name
from trunkml.errors import ConfigError, NotFoundError, TrunkmlError, UnsafePathError

POINTER_FILE = "dataset.yaml"
VERSIONS_DIR = "versions"


class Catalog:
    """Reads and writes the dataset pointers under one ``datasets/`` folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, name: str) -> Path:
        """The folder of dataset ``name``, refusing names or symlinks that leave ``datasets/``."""
        folder = self.root / check_name(name)
        if folder.exists() and not folder.resolve().is_relative_to(self.root.resolve()):
            raise UnsafePathError(f"datasets/{name} resolves outside the datasets folder (symlink?)")
        return folder

    def names(self) -> list[str]:
        """Names of all datasets that have a current pointer, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(entry.name for entry in self.root.iterdir() if (entry / POINTER_FILE).is_file())

    def versions(self, name: str) -> list[int]:
        """Archived version numbers of ``name``, ascending (the current one included)."""
        archive = self.folder(name) / VERSIONS_DIR
        found = {int(path.stem) for path in archive.glob("*.yaml") if path.stem.isdigit()}
        if (self.folder(name) / POINTER_FILE).is_file():
            found.add(self._read(self.folder(name) / POINTER_FILE, name).version)
        return sorted(found)

    def _read(self, path: Path, name: str) -> DatasetPointer:
        pointer = load_model(path, DatasetPointer)
        if pointer.name != name:
            raise ConfigError(f"{path}:1: pointer is named '{pointer.name}' but lives in datasets/{name}/")
        return pointer

    def get(self, ref: DatasetRef) -> DatasetPointer:
        """Return the pointer ``ref`` names; unknown names or versions say what exists."""
        current_path = self.folder(ref.name) / POINTER_FILE
        if not current_path.is_file():
            known = ", ".join(self.names()) or "none yet"
            raise NotFoundError(
                f"no dataset named '{ref.name}' (known: {known})", hint="add one with `trunkml data add`"
            )
        current = self._read(current_path, ref.name)
        if ref.version is None or ref.version == current.version:
            return current
        archived = self.folder(ref.name) / VERSIONS_DIR / f"{ref.version}.yaml"
        if not archived.is_file():
            versions = ", ".join(map(str, self.versions(ref.name)))
            raise NotFoundError(f"dataset '{ref.name}' has no version {ref.version} (versions: {versions})")
        pointer = self._read(archived, ref.name)
        if pointer.version != ref.version:
            raise ConfigError(f"{archived}:1: archive holds version {pointer.version}, expected {ref.version}")
        return pointer

    def current(self) -> list[DatasetPointer]:
        """The current pointer of every dataset."""
        return [self.get(DatasetRef(name=name)) for name in self.names()]

    def current_or_errors(self) -> tuple[list[DatasetPointer], dict[str, TrunkmlError]]:
        """Every current pointer that loads, and the error of each one that does not."""
        pointers: list[DatasetPointer] = []
        errors: dict[str, TrunkmlError] = {}
        for name in self.names():
            try:
                pointers.append(self.get(DatasetRef(name=name)))
            except TrunkmlError as exc:
                errors[name] = exc
        return pointers, errors

    def all_versions(self) -> list[DatasetPointer]:
        """Every archived version of every dataset (what ``verify --all-versions`` checks)."""
        return [self.get(DatasetRef(name=name, version=v)) for name in self.names() for v in self.versions(name)]

    def save(self, pointer: DatasetPointer) -> Path:
        """Write ``pointer`` as the current version and archive it; an archived version is never rewritten.

        The archive file is created exclusively, so two writers can never both own one version number.
        """
        folder = self.folder(pointer.name)
        archive = folder / VERSIONS_DIR
        archive.mkdir(parents=True, exist_ok=True)
        if not archive.resolve().is_relative_to(self.root.resolve()):
            raise UnsafePathError(f"datasets/{pointer.name}/{VERSIONS_DIR} resolves outside the datasets folder")
        archived = archive / f"{pointer.version}.yaml"
        try:
            with archived.open("x", encoding="utf-8"):
                pass
        except FileExistsError:
            if archived.stat().st_size and self._read(archived, pointer.name) == pointer:
                return folder / POINTER_FILE
            raise ConfigError(
                f"dataset '{pointer.name}' version {pointer.version} already exists with other content",
                hint="versions are immutable: add a new version instead",
            ) from None
        dump_model(archived, pointer)
        dump_model(folder / POINTER_FILE, pointer)
        return folder / POINTER_FILE
