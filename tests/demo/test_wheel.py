"""The wheel holds trunkml alone, and `trunkml demo` plays its story from it, with no checkout in sight.

The wheel is built from a copy of the sources and installed into a fresh virtual environment outside the
repository. Its third-party dependencies come from this test run's environment (a path entry in the new
environment, since no package index is reachable offline); trunkml itself and the project files come
from the wheel alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT


def build_wheel(out: Path) -> Path:
    source = out / "source"
    source.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO_ROOT / name, source / name)
    shutil.copytree(REPO_ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(source)],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    [wheel] = out.glob("trunkml-*.whl")
    return wheel


def fresh_environment(root: Path, wheel: Path) -> Path:
    """A new venv with the wheel installed; the dependencies are found through a path entry."""
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    Path(purelib, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index"]
    done = subprocess.run([*install, str(wheel)], capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    return venv


def clean_environment(home: Path) -> dict[str, str]:
    keep = {"PATH", "LANG", "LC_ALL", "TMPDIR", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"}
    env = {key: value for key, value in os.environ.items() if key in keep}
    return {**env, "HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1"}


@pytest.mark.timeout(900)  # a wheel build, a venv, and the whole story with two infra validations
def test_the_wheel_ships_trunkml_alone_and_the_demo_runs_from_it(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "dist")
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names} == {"trunkml", wheel.name.split("-py3")[0] + ".dist-info"}
    for template in ("trunkml/scaffold/templates/model/tfidf/train.py", "trunkml/demo/templates/trunkml.yaml"):
        assert template in names  # the project files init and the demo render are package data

    venv = fresh_environment(tmp_path, wheel)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = clean_environment(tmp_path)

    def trunkml(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(venv / "bin" / "trunkml"), *args], cwd=outside, env=env,
                              capture_output=True, text=True, check=False, timeout=timeout)  # fmt: skip

    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import trunkml, importlib.util as u; "
         "print(trunkml.__file__, u.find_spec('hatedetection') is None)"],
        cwd=outside, env=env, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert where[0].startswith(str(venv)), where  # trunkml comes from the wheel, not from the checkout
    assert where[1] == "True"  # and the reference project's model package is not installed

    made = trunkml("init", "churn", "--family", "tfidf", "--json", timeout=120)
    assert made.returncode == 0, made.stderr
    assert "src/churn_model/train.py" in json.loads(made.stdout)["files"]

    played = trunkml("demo", "--workdir", "ws", "--json")
    assert played.returncode == 0, played.stderr[-3000:]
    report = json.loads(played.stdout)
    assert [step for step in report["steps"] if not step["ok"]] == []
    steps = {step["name"]: step["detail"] for step in report["steps"]}
    assert steps["trunkml rollback"] == "@champion v2 → v1"
    assert "each has exactly one version" in steps["trunkml check-main"]
    code = outside / "ws" / "src" / "demo_classifier_model" / "train.py"
    assert "trunkml.training.families.tfidf" in code.read_text(encoding="utf-8")  # the scaffold's own file
