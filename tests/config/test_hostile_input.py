"""One corpus of hostile names and paths, applied to every place a name or path enters trunkml.

Each must be refused with a clear error (exit 2, or a validation error naming the field), before
anything is read, written or registered. The test prints the tally per entry point.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.conftest import Project
from trunkml.config import Settings
from trunkml.errors import TrunkmlError
from trunkml.serving.spec import EndpointSpec

CORPUS = [
    "../evil", "..", "../../etc/passwd", "%2e%2e%2f", "%2e%2e%2fevil", "%252e%252e%252fevil", "..%2fevil",
    "..\\evil", "\\..\\evil", "evil\\..\\..\\x", "a/../../b", "evil#frag", "evil;rm -rf ~", "/etc/passwd",
    "/tmp/evil", "C:\\Windows\\evil", "nul\x00byte", "~/.ssh/id_rsa", "line\nbreak",
]  # fmt: skip
ESCAPE = "escape/outside.yaml"  # through a symlink in the project that points outside it


@pytest.fixture
def hostile(make_project: Callable[..., Project], tmp_path: Path) -> Project:
    project = make_project(project_yaml="name: hostile\nmodel: safe-model\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "outside.yaml").write_text("model: x\n", encoding="utf-8")
    (project.root / "escape").symlink_to(outside, target_is_directory=True)
    (project.root / ".trunkml").mkdir(exist_ok=True)
    (project.root / ".trunkml" / "escape").symlink_to(outside, target_is_directory=True)  # for log.path
    (project.root / "data.csv").write_text("text,label\nola,0\nodio,1\n", encoding="utf-8")
    (project.root / "jobs" / "ok").mkdir(parents=True)
    return project


def refused_by_cli(project: Project, *args: str) -> bool:
    result = project.cli(*args)
    return result.code == 2 and "Traceback" not in result.stderr and bool(result.stderr.strip())


def refused_by_call(call: Callable[[], object]) -> bool:
    try:
        call()
    except TrunkmlError as exc:
        return exc.exit_code == 2
    except ValueError:  # pydantic's ValidationError: the field and why
        return True
    return False


def job_file(project: Project, **fields: str) -> None:
    spec = {"model": "ok-model", "entrypoint": "pkg.train:train", "inputs": {"train": "d", "eval": "e"}, **fields}
    (project.root / "jobs" / "ok" / "train.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")


def test_every_hostile_name_and_path_is_refused_everywhere(
    hostile: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project = hostile
    settings = Settings(project=project.root)
    entry_points: dict[str, Callable[[str], bool]] = {
        "job name (ct)": lambda s: refused_by_cli(project, "ct", s),
        "job spec path (train)": lambda s: refused_by_cli(project, "train", s if s.endswith(".yaml") else s + ".yaml"),
        "dataset name (data add)": lambda s: refused_by_cli(project, "data", "add", s, "--file", "data.csv",
                                                            "-t", "text", "-l", "label"),
        "dataset ref (data show)": lambda s: refused_by_cli(project, "data", "show", s),
        "pointer uri (data add --uri)": lambda s: refused_by_cli(project, "data", "add", "ok", "--uri", s,
                                                                 "-t", "text", "-l", "label"),
        "model name (--model)": lambda s: refused_by_cli(project, "models", "list", "--model", s),
        "model ref (promote)": lambda s: refused_by_cli(project, "promote", s, "--by", "alice"),
        "model in trunkml.yaml": lambda s: refused_by_call(lambda: _project_with_model(project, s)),
        "endpoint model": lambda s: refused_by_call(lambda: EndpointSpec.model_validate({"model": s})),
        "endpoint log.path": lambda s: refused_by_call(
            lambda: EndpointSpec.model_validate({"model": "m", "log": {"path": s}}).log_path(settings)
        ),
        "job code_dir": lambda s: _job_refused(project, code_dir=s),
        "job params file": lambda s: _job_refused(project, params=s),
        "score --model": lambda s: refused_by_cli(project, "score", "1", "--model", s, "--input", "data.csv",
                                                  "--output", str(project.root / "o.csv")),
    }  # fmt: skip
    path_like = {"job spec path (train)", "pointer uri (data add --uri)", "endpoint log.path", "job code_dir",
                 "job params file"}  # fmt: skip
    tally: dict[str, tuple[int, int]] = {}
    escaped: list[tuple[str, str]] = []
    for where, refuses in entry_points.items():
        cases = CORPUS + ([ESCAPE] if where in path_like else [])
        misses = [case for case in cases if not refuses(case)]
        tally[where] = (len(cases) - len(misses), len(cases))
        escaped += [(where, case) for case in misses]
    with capsys.disabled():
        print("\nhostile input refused, per entry point:")
        for where, (refused, total) in tally.items():
            print(f"  {where:32s} {refused}/{total}")
        print(f"  {'all':32s} {sum(r for r, _ in tally.values())}/{sum(t for _, t in tally.values())}")
    assert escaped == []
    assert not (project.root.parent / "evil").exists()
    assert not list(project.root.rglob("*evil*"))


def _project_with_model(project: Project, model: str) -> None:
    from trunkml.config import load_project

    folder = project.root.parent / "other-project"
    folder.mkdir(exist_ok=True)
    (folder / "trunkml.yaml").write_text(yaml.safe_dump({"name": "p", "model": model}), encoding="utf-8")
    load_project(folder)


def _job_refused(project: Project, **fields: str) -> bool:
    job_file(project, **fields)
    return refused_by_cli(project, "ct", "ok")
