"""Path triggers on a real git repository: each class of change triggers the pipelines the rules name."""

from __future__ import annotations

import pytest

from tests.conftest import Project
from tests.pipelines.conftest import commit, git
from trunkml.pipelines.triggers import matches


def triggered(project: Project, base: str, head: str, event: str = "push") -> dict[str, list[str]]:
    result = project.cli("pipeline", "triggers", "--base", base, "--head", head, "--event", event, "--json")
    assert result.code == 0, result.stderr
    return {item["pipeline"]: item["jobs"] for item in result.json()["pipelines"]}


def test_each_path_class_triggers_its_pipelines(pipes: Project) -> None:
    a = git(pipes, "rev-parse", "HEAD")
    code = commit(pipes, "model code", {"src/hatedetection/NOTE.txt": "a change to the model package\n"})
    assert triggered(pipes, a, code) == {"model-ct": ["pipes-model"], "model-cd": ["pipes-model"]}
    assert triggered(pipes, a, code, "pull_request") == {"model-ci": ["pipes-model"]}

    params = commit(pipes, "params", {"jobs/pipes-model/params.yaml": "cv_folds: 2\nC: 4.0\n"})
    assert set(triggered(pipes, code, params)) == {"model-ct", "model-cd"}

    # a new version of a dataset the job reads: the pointer changes, the store syncs, the job retrains
    assert pipes.cli("data", "synth", "--rows", "500", "--seed", "10", "--add", "tiny").code == 0
    git(pipes, "add", "-A")
    git(pipes, "commit", "-qm", "tiny v2")
    pointer = git(pipes, "rev-parse", "HEAD")
    assert triggered(pipes, params, pointer) == {
        "workspace-cd": [],
        "model-ct": ["pipes-model"],
        "model-cd": ["pipes-model"],
    }

    # a dataset no job reads: the store syncs, nothing retrains (model-ci still checks it on a PR)
    assert pipes.cli("data", "synth", "--rows", "70", "--seed", "12", "--add", "unused").code == 0
    git(pipes, "add", "-A")
    git(pipes, "commit", "-qm", "unused v2")
    unused = git(pipes, "rev-parse", "HEAD")
    assert triggered(pipes, pointer, unused) == {"workspace-cd": []}
    assert triggered(pipes, pointer, unused, "pull_request") == {"model-ci": ["pipes-model"]}

    env = commit(pipes, "environment", {"environments/serving/environment.yaml": "python: '3.11'\n"})
    assert triggered(pipes, unused, env) == {"environment-cd": []}
    assert triggered(pipes, unused, env, "pull_request") == {"environment-ci": []}

    project_file = (pipes.root / "trunkml.yaml").read_text(encoding="utf-8") + "description: pipes demo\n"
    settings = commit(pipes, "project file", {"trunkml.yaml": project_file})
    assert triggered(pipes, env, settings) == {"workspace-cd": []}

    docs = commit(pipes, "docs", {"README.md": "docs only\n"})
    assert triggered(pipes, settings, docs) == {}
    assert set(triggered(pipes, a, docs)) == {"workspace-cd", "environment-cd", "model-ct", "model-cd"}


def test_a_pull_request_is_compared_from_its_merge_base(pipes: Project) -> None:
    git(pipes, "checkout", "-qb", "feature")
    commit(pipes, "feature: model code", {"src/hatedetection/NOTE.txt": "feature work\n"})
    git(pipes, "checkout", "-q", "main")
    commit(pipes, "main moved on: environments", {"environments/serving/environment.yaml": "python: '3.11'\n"})
    # main's own change is not the pull request's: only the feature's model change counts
    assert triggered(pipes, "main", "feature", "pull_request") == {"model-ci": ["pipes-model"]}


def test_rules_come_from_trunkml_yaml(pipes: Project) -> None:
    a = git(pipes, "rev-parse", "HEAD")
    text = (pipes.root / "trunkml.yaml").read_text(encoding="utf-8")
    text = text.replace("pipelines:\n", "pipelines:\n  triggers:\n    model-ct: {events: [push], paths: [docs/**]}\n")
    b = commit(pipes, "rules", {"trunkml.yaml": text, "docs/x.md": "x\n"})
    found = triggered(pipes, a, b)
    assert found["model-ct"] == ["pipes-model"]  # a shared path in the rule retrains every job
    paths = pipes.cli("pipeline", "paths", "--json").json()
    assert paths["model-ct"] == {"events": ["push"], "paths": ["docs/**"]}


def test_bad_revisions_and_rules_are_usage_errors(pipes: Project) -> None:
    missing = pipes.cli("pipeline", "triggers", "--base", "no-such-rev", "--head", "HEAD")
    assert missing.code == 2
    assert "no-such-rev" in missing.stderr
    (pipes.root / "trunkml.yaml").write_text(
        "name: x\npipelines:\n  triggers:\n    model-ct: {events: [tag]}\n", encoding="utf-8"
    )
    bad = pipes.cli("pipeline", "triggers", "--base", "HEAD", "--head", "HEAD")
    assert bad.code == 2
    assert "trunkml.yaml:4" in bad.stderr  # the file and the line


@pytest.mark.parametrize(
    ("path", "globs", "expected"),
    [
        ("datasets/tiny/dataset.yaml", ["datasets/**"], True),
        ("datasets/tiny/dataset.yaml", ["datasets/tiny"], True),
        ("datasets/tinyx/dataset.yaml", ["datasets/tiny"], False),
        ("trunkml.yaml", ["trunkml.yaml"], True),
        ("a/trunkml.yaml", ["trunkml.yaml"], False),
        ("src/pkg/mod.py", ["src/*/mod.py"], True),
        ("src/pkg/sub/mod.py", ["src/*/mod.py"], False),
        ("src/pkg/sub/mod.py", ["src/**/mod.py"], True),
        ("jobs/a.b/x", ["jobs/a.b/**"], True),
        ("src/mod.py", ["src/**/mod.py"], True),
        ("src/xmod.py", ["src/**/mod.py"], False),
        ("jobs/a/pretrain.yaml", ["**/train.yaml"], False),
        ("jobs/a/train.yaml", ["**/train.yaml"], True),
        ("jobs/aXb/x", ["jobs/a.b/**"], False),
    ],
)
def test_glob_matching(path: str, globs: list[str], expected: bool) -> None:
    assert matches(path, globs) is expected
