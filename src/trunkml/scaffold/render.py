"""`trunkml init`: a new project for a team's own model, ready for `trunkml data add` and `trunkml pipeline run`.

It writes the project file, the job, the endpoint, an environment to lock, a model package (a train
entrypoint, and for ``sklearn`` a pyfunc wrapper, pickle-free) and the GitHub workflows with path
triggers. It never overwrites: a folder that already holds a trunkml project, or any file it would
write, is an error and nothing is written.

The files are real files under ``templates/`` (package data), rendered with :class:`string.Template`
(``${name}`` placeholders, ``$$`` for a literal dollar), so they can be read, linted and diffed. The
demo renders the same job and model files.
"""

from __future__ import annotations

import json
import re
from importlib.resources import files as package_files
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template
from typing import Literal

from pydantic import BaseModel, ConfigDict

from trunkml.errors import UsageError

Family = Literal["tabular", "sklearn", "tfidf", "transformer"]
Task = Literal["binary", "multiclass", "regression"]
DESCRIPTIONS = {
    "tabular": "A scikit-learn pipeline over the dataset's schema (gradient boosting or logistic regression).",
    "sklearn": "TF-IDF n-grams + logistic regression.",
    "tfidf": "TF-IDF word and character n-grams + logistic regression (trunkml's tfidf family).",
    "transformer": "A fine-tuned transformer encoder.",
}
# Also a dataset name once suffixed with -train / -eval (those end in a letter or digit, at most 64 characters).
NAME = re.compile(r"^[a-z](?:[a-z0-9-]{0,56}[a-z0-9])?$")
YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}  # YAML 1.1 reads these as non-strings


def render_resource(resource: Traversable, **values: str) -> str:
    """The text of a template file (package data) with its ``${name}`` placeholders filled from ``values``."""
    return Template(resource.read_text(encoding="utf-8")).substitute(values)


def render(template: str, **values: str) -> str:
    """The text of ``templates/<template>`` with its ``${name}`` placeholders filled from ``values``."""
    return render_resource(package_files("trunkml.scaffold") / "templates" / template, **values)


class Scaffolded(BaseModel):
    """What `trunkml init` wrote."""

    model_config = ConfigDict(frozen=True)

    root: str
    model: str
    family: Family
    package: str
    files: list[str]


def _model_name(root: Path, model: str | None) -> str:
    name = model if model is not None else re.sub(r"[^a-z0-9-]+", "-", root.name.lower()).strip("-")
    if not NAME.fullmatch(name or "") or name in YAML_WORDS:
        raise UsageError(
            f"model name {name!r} is not usable",
            hint="pass --model NAME: up to 58 lower-case letters, digits or '-', starting with a letter and not "
            "ending with '-' (and not a YAML word such as 'yes' or 'null')",
        )
    return name


def _workflows(model: str, package: str) -> dict[str, str]:
    own = [f"jobs/{model}/**", f"src/{package}/**", f"datasets/{model}/**", f"datasets/{model}-train/**",
           f"datasets/{model}-eval/**"]  # fmt: skip

    def paths(globs: list[str]) -> str:
        return "\n".join(f'      - "{glob}"' for glob in globs)

    push = "  push:\n    branches: [main]\n    paths:\n{paths}\n  workflow_dispatch: {{}}"
    pull = "  pull_request:\n    branches: [main]\n    paths:\n{paths}"
    run = "trunkml pipeline run --event {event} --only {name} --base {base} --head {head}"
    pr_range = ('"${{ github.event.pull_request.base.sha }}"', '"${{ github.event.pull_request.head.sha }}"')
    push_range = ('"${{ github.event.before }}"', '"${{ github.sha }}"')
    specs = {
        "workspace-cd": (push.format(paths=paths(["trunkml.yaml", "datasets/**"])), "trunkml pipeline workspace-cd"),
        "model-ci": (
            pull.format(paths=paths(["datasets/**", *own])),
            run.format(event="pull_request", name="model-ci", base=pr_range[0], head=pr_range[1]),
        ),
        "environment-ci": (
            pull.format(paths=paths(["environments/**"])),
            run.format(event="pull_request", name="environment-ci", base=pr_range[0], head=pr_range[1]),
        ),
        "model-ct": (
            push.format(paths=paths(own)),
            run.format(event="push", name="model-ct", base=push_range[0], head=push_range[1]),
        ),
        "model-cd": (
            "  workflow_run:\n    workflows: [model-ct]\n    types: [completed]",
            'trunkml pipeline model-cd @challenger --by "$GITHUB_ACTOR" --wait-ok',
        ),
    }
    deploy = (  # the registry's credentials: secrets of the `registry` environment (deployment branches: main)
        "\n    environment: registry\n    env:\n"
        "      MLFLOW_TRACKING_URI: ${{ secrets.MLFLOW_TRACKING_URI }}\n"
        "      MLFLOW_TRACKING_USERNAME: ${{ secrets.MLFLOW_TRACKING_USERNAME }}\n"
        "      MLFLOW_TRACKING_PASSWORD: ${{ secrets.MLFLOW_TRACKING_PASSWORD }}\n"
        "      TRUNKML_ACTOR: ${{ github.actor }}"
    )
    on_main = "\n    if: github.ref == 'refs/heads/main'  # a deploy never runs another branch's workflow file"
    checks = {"condition": "", "ref": "", "deploy": ""}  # pull requests: no secrets at all
    deploys = {"condition": on_main, "ref": "", "deploy": deploy}
    after_ct = {  # model-cd: only after a successful model-ct on main, on the commit it trained (not main's newest)
        "condition": "\n    if: github.event.workflow_run.conclusion == 'success' "
        "&& github.event.workflow_run.head_branch == 'main'",
        "ref": "\n          ref: ${{ github.event.workflow_run.head_sha }}",
        "deploy": deploy,
    }
    kinds = {"model-cd": after_ct, "model-ci": checks, "environment-ci": checks}
    return {
        f".github/workflows/{name}.yaml": render(
            "workflow/workflow.yaml", name=name, on=on, command=command, **kinds.get(name, deploys)
        )
        for name, (on, command) in specs.items()
    }


def model_files(
    name: str, package: str, family: Family, train: str, eval_: str, task: Task = "binary"
) -> dict[str, str]:
    """The job (train.yaml, params.yaml) and the model package of ``family``: {relative path: text}.

    ``init`` and the demo both write these; a tabular job's parameters follow the task.
    """
    values = {"model": name, "package": package}
    planned = {
        f"jobs/{name}/train.yaml": render(
            "job/train.yaml", **values, description=DESCRIPTIONS[family], train=train, eval=eval_
        ),
        f"jobs/{name}/params.yaml": render(
            f"job/params-{family}{'' if task == 'binary' or family != 'tabular' else '-' + task}.yaml", **values
        ),
        f"src/{package}/__init__.py": f'"""The {name} model package."""\n',
        f"src/{package}/train.py": render(f"model/{family}/train.py", **values),
    }
    if family == "sklearn":
        planned[f"src/{package}/pyfunc_model.py"] = render("model/sklearn/pyfunc_model.py", **values)
    return planned


def package_name(model: str) -> str:
    """The Python package of a model's code: ``toxic-comments`` → ``toxic_comments_model``."""
    return model.replace("-", "_") + "_model"


def plan(root: Path, model: str | None, family: Family, task: Task = "binary") -> tuple[str, str, dict[str, str]]:
    """(model name, package name, {relative path: text}) for a new project at ``root``."""
    if task != "binary" and family != "tabular":
        raise UsageError(f"a {task} project uses the tabular model (--inputs tabular); text families are binary")
    name = _model_name(root, model)
    package = package_name(name)
    project = root.name or name
    columns = "--target COLUMN" if family == "tabular" else "--text-column text --label-column label"
    columns += f" --task {task}" if task != "binary" else ""
    values = {
        "project": project, "project_yaml": json.dumps(project), "model": name, "package": package,
        "data_add": f"trunkml data add {name} --file data/{name}.csv {columns}",
    }  # fmt: skip
    planned = {
        "trunkml.yaml": render("project/trunkml.yaml", **values, policy=render(f"project/policy-{task}.yaml")),
        "README.md": render("project/README.md", **values),
        ".gitignore": render("project/gitignore"),
        "allowed_signers": render("project/allowed_signers"),
        "datasets/README.md": render("project/datasets-README.md", **values),
        **model_files(name, package, family, f"{name}-train", f"{name}-eval", task),
        f"endpoints/{name}/endpoint.yaml": render("endpoint/endpoint.yaml", **values),
        "environments/train/requirements.in": render(
            "environment/requirements.in", **values, extra=",transformers" if family == "transformer" else ""
        ),
        **_workflows(name, package),
    }
    return name, package, planned


def init_project(root: Path, model: str | None = None, family: Family = "tabular", task: Task = "binary") -> Scaffolded:
    """Write a new trunkml project at ``root`` (created if missing); refuse to overwrite anything."""
    root = root.resolve()
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root} exists and is not a folder")
    if (root / "trunkml.yaml").exists():
        raise UsageError(f"{root} is already a trunkml project (it has trunkml.yaml)", hint="nothing was written")
    name, package, planned = plan(root, model, family, task)
    taken = sorted(path for path in planned if (root / path).exists())
    if taken:
        raise UsageError(
            f"{root} already has {', '.join(taken[:5])}", hint="nothing was written; init an empty or new folder"
        )
    for relative, text in planned.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return Scaffolded(root=str(root), model=name, family=family, package=package, files=sorted(planned))
