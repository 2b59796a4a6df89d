"""One process may train several projects whose model packages share a name: each gets its own code."""

from __future__ import annotations

import sys
from pathlib import Path

from trunkml.training.entry import load_entrypoint


def project(root: Path, answer: str) -> Path:
    package = root / "src" / "same_name_model"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "train.py").write_text(f"def train(job):\n    return {answer!r}\n")
    return root


def test_a_second_project_with_the_same_package_name_gets_its_own_code(tmp_path: Path) -> None:
    first, second = project(tmp_path / "a", "first"), project(tmp_path / "b", "second")
    try:
        assert load_entrypoint(first, "same_name_model.train:train", "src")(None) == "first"
        assert load_entrypoint(second, "same_name_model.train:train", "src")(None) == "second"
        assert load_entrypoint(first, "same_name_model.train:train", "src")(None) == "first"
    finally:
        for name in [n for n in sys.modules if n.startswith("same_name_model")]:
            del sys.modules[name]
        sys.path[:] = [p for p in sys.path if not p.startswith(str(tmp_path))]
