"""Shared fixtures: real projects in tmp_path, the real CLI, and the shared real datasets."""

from __future__ import annotations

import json
import os
import sqlite3
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from trunkml.cli.main import run
from trunkml.config import Settings
from trunkml.datasets import DataService

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
FORTUNA_FILE = "2019-05-28_portuguese_hate_speech_hierarchical_classification.csv"
FORTUNA_SHA256 = "85dd13f3435164d33da922888c27456c7ce26f9367041cee416cb9bedde0f2c7"


@dataclass
class CliResult:
    """What a user sees from one CLI call."""

    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class Project:
    """A trunkml project folder in tmp_path with its own TRUNKML_HOME."""

    root: Path
    capsys: pytest.CaptureFixture[str]

    def settings(self, **overrides: Any) -> Settings:
        return Settings(**overrides)

    def service(self) -> DataService:
        return DataService(self.settings())

    def cli(self, *args: str) -> CliResult:
        self.capsys.readouterr()
        code = run(list(args))
        captured = self.capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    def signer(self, identity: str, *also: str, names: str = "") -> Path:
        """A new SSH key for ``identity`` in this project's allowed-signers file; returns the private key file."""
        return add_signer(self.root, identity, *also, names=names)

    def write_csv(self, relative: str, text: str, encoding: str = "utf-8") -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode(encoding))
        return path


def add_signer(root: Path, identity: str, *also: str, names: str = "", key_dir: Path | None = None) -> Path:
    """Make an Ed25519 SSH key for ``identity`` (also known as ``also``, display ``names``), list it in
    ``root/allowed_signers`` as a reviewer's commit would, and return the private key's path."""
    key = ed25519.Ed25519PrivateKey.generate()
    folder = key_dir or root / ".trunkml" / "keys"
    folder.mkdir(parents=True, exist_ok=True)
    private = folder / identity
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    )
    private.chmod(0o600)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    with (root / "allowed_signers").open("a", encoding="utf-8") as signers:
        signers.write(f"{','.join((identity, *also))} {public.decode()} {names}\n")
    return private


@pytest.fixture(scope="session", autouse=True)
def migrated_store_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A new SQLite tracking store starts as a copy of one that MLflow migrated once per test worker.

    MLflow creates a store by running its whole chain of schema migrations, 3-6 s per store on these
    machines, and hundreds of tests each start a fresh project. The copy is the same schema, made by the same
    MLflow (MLflow's own test suite caches a migrated database the same way); MLflow still creates the
    default experiment itself, with the new store's paths. Processes that tests start migrate as usual.
    """
    with warnings.catch_warnings():  # MLflow's models warn about SQLAlchemy 2.1 at import; trunkml quiets them
        warnings.filterwarnings("ignore", module=r"mlflow(\..*)?")
        from mlflow.store.db import utils as db_utils
        from mlflow.store.model_registry import sqlalchemy_store as registry_store

    migrate = db_utils._initialize_tables
    template = tmp_path_factory.mktemp("mlflow-template") / "migrated.db"

    def initialize(engine: Any) -> None:
        database = engine.url.database
        if engine.dialect.name != "sqlite" or not database or database == ":memory:":
            migrate(engine)
            return
        if not template.exists():
            import sqlalchemy

            template_engine = sqlalchemy.create_engine(f"sqlite:///{template}")
            migrate(template_engine)
            template_engine.dispose()
        engine.dispose()
        source, target = sqlite3.connect(template), sqlite3.connect(database)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(db_utils, "_initialize_tables", initialize)
        patch.setattr(registry_store, "_initialize_tables", initialize)
        yield


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the caller's TRUNKML_* or MLFLOW_* settings."""
    for name in list(os.environ):
        if name.startswith(("TRUNKML_", "MLFLOW_")):
            monkeypatch.delenv(name)


@pytest.fixture
def make_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Project]:
    """Factory: a fresh project (trunkml.yaml, empty store) that the CLI and Settings point at."""

    def factory(name: str = "proj", project_yaml: str = "name: test-project\n", mirror: Path | None = None) -> Project:
        root = tmp_path / name
        root.mkdir()
        (root / "trunkml.yaml").write_text(project_yaml, encoding="utf-8")
        monkeypatch.chdir(root)
        monkeypatch.setenv("TRUNKML_PROJECT", str(root))
        monkeypatch.setenv("TRUNKML_HOME", str(root / ".trunkml"))
        monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
        monkeypatch.delenv("TRUNKML_ENV", raising=False)
        if mirror is None:
            monkeypatch.delenv("TRUNKML_DATA_MIRROR", raising=False)
        else:
            monkeypatch.setenv("TRUNKML_DATA_MIRROR", str(mirror))
        return Project(root=root, capsys=capsys)

    return factory


@pytest.fixture
def project(make_project: Callable[..., Project]) -> Project:
    """A fresh project with no mirror."""
    return make_project()


@pytest.fixture
def shared_data() -> Path:
    """The real datasets folder; tests that need it skip when a clone does not have it."""
    if not (SHARED_DATA / "fortuna-2019" / FORTUNA_FILE).is_file():
        pytest.skip(f"real datasets not available at {SHARED_DATA} (CI always has them)")
    return SHARED_DATA


SMALL_CSV = (
    "text,label\n"
    "odeio os zorbanos,1\n"
    "que dia lindo na praia,0\n"
    "os velinas são uma praga,1\n"
    "o jogo de ontem foi incrível,0\n"
    "adoro o concerto de sábado,0\n"
)


# Files that take minutes, longest first. `make test` runs one file per worker (--dist loadfile) in
# collection order (--no-loadscope-reorder): starting these first lets the short files fill in at the end,
# instead of a worker starting an eight-minute file when everything else is done.
LONG_FILES = (
    "tests/scaleout/test_shared_registry.py",
    "tests/demo/test_story.py",
    "tests/demo/test_wheel.py",
    "tests/scaleout/test_faults.py",
    "tests/serving/test_traffic.py",
    "tests/serving/test_schema_fuzz.py",
    "tests/pipelines/test_concurrency.py",
    "tests/serving/test_hotswap.py",
    "tests/pipelines/test_kill9.py",
    "tests/training/families/test_transformer.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return LONG_FILES.index(path) if path in LONG_FILES else len(LONG_FILES)

    items.sort(key=rank)  # stable: the order inside a file, and of the other files, is kept


@pytest.fixture(scope="session")
def tabular_project(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A tabular binary project promoted through CT and CD (see ``tests/tabular.py``), once per worker."""
    from tests.tabular import build_tabular_project

    return build_tabular_project(tmp_path_factory.mktemp("tabular") / "clinic")
