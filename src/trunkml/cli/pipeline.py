"""``trunkml pipeline``: the six pipelines, their path triggers, and the local runner that plays CI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Literal, Optional

import typer

from trunkml.cli.context import load_settings
from trunkml.cli.output import err, out, print_json
from trunkml.errors import EXIT_OK

if TYPE_CHECKING:
    from trunkml.pipelines.steps import Emit, PipelineResult, StepResult

app = typer.Typer(help="Pipelines (model-ci/ct/cd, environment-ci/cd, workspace-cd), triggers and the local runner.")

Json = Annotated[bool, typer.Option("--json", help="Print one JSON document to stdout.")]
EventOption = Annotated[Literal["push", "pull_request"], typer.Option("--event", help="The git event, as CI sees it.")]
ByOption = Annotated[Optional[str], typer.Option("--by", help="Who promotes (default TRUNKML_ACTOR/GITHUB_ACTOR).")]  # noqa: UP045
JobOption = Annotated[Optional[list[str]], typer.Option("--job", help="Job name (repeatable; default: all jobs).")]  # noqa: UP045
MARKS = {"ok": "[green]✓[/]", "failed": "[red]✗[/]", "skipped": "[dim]–[/]", "waiting": "[yellow]⏸[/]"}


@contextmanager
def _step_log(quiet: bool) -> Iterator[Emit]:
    """An ``Emit`` that shows a spinner while a step runs and one line with its timing when it ends."""
    status = err.status("", spinner="dots")
    if not quiet:
        status.start()

    def emit(name: str, result: StepResult | None) -> None:
        if quiet:
            return
        if result is None:
            status.update(f"{name} …")
            return
        detail = f"  {result.detail}" if result.detail else ""
        out.print(f"  {MARKS[result.status]} {name} [dim]({result.seconds:.1f} s)[/]{detail}", highlight=False)

    try:
        yield emit
    finally:
        status.stop()


def _summary(result: PipelineResult) -> None:
    colour = {"succeeded": "green", "failed": "red", "waiting for approval": "yellow"}[result.state]
    out.print(f"[bold]{result.pipeline}[/]: [{colour}]{result.state}[/] in {result.seconds:.1f} s", highlight=False)
    if result.error:
        out.print(f"  {result.error}", highlight=False)
    if result.hint:
        out.print(f"  [dim]hint:[/] {result.hint}", highlight=False)


def _run_one(title: str, json_: bool, call: Callable[[Emit], PipelineResult], wait_ok: bool = False) -> None:
    if not json_:
        out.print(f"[bold magenta]▶ {title}[/]", highlight=False)
    with _step_log(json_) as emit:
        result = call(emit)
    if json_:
        print_json(result)
    else:
        _summary(result)
    if result.exit_code != EXIT_OK and not (wait_ok and result.state == "waiting for approval"):
        raise typer.Exit(result.exit_code)


@app.command("triggers")
def triggers_command(
    base: Annotated[str, typer.Option(help="The revision before the change (CI: the push's 'before').")],
    head: Annotated[str, typer.Option(help="The revision after it.")] = "HEAD",
    event: EventOption = "push",
    json_: Json = False,
) -> None:
    """Print which pipelines a change triggers (real `git diff` between two commits)."""
    from trunkml.pipelines.triggers import triggered

    result = triggered(load_settings(), base, head, event)
    if json_:
        print_json({**result.model_dump(), "triggered": result.names})
        return
    out.print(f"{len(result.changed)} changed file(s) between {base} and {head} ({event})", highlight=False)
    if not result.pipelines:
        out.print("  nothing triggered")
    for item in result.pipelines:
        jobs = f" [dim]jobs: {', '.join(item.jobs)}[/]" if item.jobs else ""
        why = ", ".join(item.files[:5]) + (f" (+{len(item.files) - 5})" if len(item.files) > 5 else "")
        out.print(f"  [bold]{item.pipeline}[/]{jobs}  {why or 'after model-ct'}", highlight=False)


@app.command("paths")
def paths_command(json_: Json = False) -> None:
    """Print each pipeline's events and path globs (what a CI path filter must list)."""
    from trunkml.config import load_project
    from trunkml.pipelines.triggers import job_globs, rule_globs

    settings = load_settings()
    rules = load_project(settings.project_root).pipelines.triggers
    jobs = job_globs(settings)
    document: dict[str, dict[str, list[str]]] = {
        name: {"events": list(rule.events), "paths": rule_globs(rule, jobs)} for name, rule in rules.items()
    }
    if json_:
        print_json(document)
        return
    for name, item in document.items():
        out.print(f"[bold]{name}[/] on {', '.join(item['events'])}:", highlight=False)
        for path in item["paths"]:
            out.print(f"  {path}", highlight=False)


@app.command("run")
def run_command(
    base: Annotated[str, typer.Option(help="The revision before the change.")],
    head: Annotated[str, typer.Option(help="The revision after it (checked out here).")] = "HEAD",
    event: EventOption = "push",
    offline: Annotated[bool, typer.Option("--offline", help="Skip pip-audit where PyPI is unreachable.")] = False,
    by: ByOption = None,
    only: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--only", help="Run only these of the triggered pipelines (repeatable), e.g. in one CI workflow."),
    ] = None,
    json_: Json = False,
) -> None:
    """Run the pipelines a change triggers, in dependency order, as CI would."""
    from trunkml.pipelines.localrunner import run_triggered

    def announce(name: str, files: list[str]) -> None:
        if not json_:
            why = f" [dim]({len(files)} changed path(s): {', '.join(files[:3])}{' …' if len(files) > 3 else ''})[/]"
            out.print(f"[bold magenta]▶ {name}[/]{why if files else ''}", highlight=False)

    with _step_log(json_) as emit:
        result = run_triggered(
            load_settings(), base, head, event, offline=offline, actor=by, emit=emit, announce=announce, only=only
        )
    if json_:
        print_json({**result.model_dump(), "state": result.state, "exit_code": result.exit_code})
    else:
        for item in result.results:
            _summary(item)
        out.print(f"[bold]run:[/] {result.state}", highlight=False)
    if result.exit_code != EXIT_OK:
        raise typer.Exit(result.exit_code)


@app.command("model-ci")
def model_ci_command(job: JobOption = None, json_: Json = False) -> None:
    """Hook, job-spec validation, data pointer verification and a smoke training run."""
    from trunkml.pipelines.model_pipelines import model_ci

    _run_one("model-ci", json_, lambda emit: model_ci(load_settings(), job, emit))


@app.command("model-ct")
def model_ct_command(job: JobOption = None, json_: Json = False) -> None:
    """`trunkml ct` for each job: one version per commit, job and data."""
    from trunkml.pipelines.model_pipelines import model_ct

    _run_one("model-ct", json_, lambda emit: model_ct(load_settings(), job, emit))


@app.command("model-cd")
def model_cd_command(
    ref: Annotated[str, typer.Argument(help="Version to promote: N, @alias, sha:<git>.")] = "@challenger",
    model: Annotated[Optional[str], typer.Option(help="Model (default: 'model' in trunkml.yaml).")] = None,  # noqa: UP045
    env: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--env", help="Environments in order (repeatable; default pipelines.model_cd.environments)."),
    ] = None,
    by: ByOption = None,
    wait_ok: Annotated[
        bool, typer.Option("--wait-ok", help="Exit 0 when the run stops to wait for an approval (CI gate jobs).")
    ] = False,
    json_: Json = False,
) -> None:
    """Gate → infra validation → approvals → promote, per environment in order; stops at the first missing approval."""
    from trunkml.pipelines.model_pipelines import model_cd

    _run_one("model-cd", json_, lambda emit: model_cd(load_settings(), ref, model, env, by, emit), wait_ok)


@app.command("environment-ci")
def environment_ci_command(
    name: Annotated[Optional[list[str]], typer.Option("--name", help="Environment (repeatable; default: all).")] = None,  # noqa: UP045
    offline: Annotated[bool, typer.Option("--offline", help="Skip pip-audit where PyPI is unreachable.")] = False,
    json_: Json = False,
) -> None:
    """Pins complete and hashed, a fresh venv installs and imports them, pip-audit --strict."""
    from trunkml.pipelines.environment_pipelines import environment_ci

    _run_one("environment-ci", json_, lambda emit: environment_ci(load_settings(), name, offline, emit))


@app.command("environment-cd")
def environment_cd_command(
    name: Annotated[Optional[list[str]], typer.Option("--name", help="Environment (repeatable; default: all).")] = None,  # noqa: UP045
    json_: Json = False,
) -> None:
    """Build each environment once per lock hash and record it in the tracking store."""
    from trunkml.pipelines.environment_pipelines import environment_cd

    _run_one("environment-cd", json_, lambda emit: environment_cd(load_settings(), name, emit))


@app.command("workspace-cd")
def workspace_cd_command(
    env: Annotated[Optional[str], typer.Option("--env", help="Environment (default: TRUNKML_ENV).")] = None,  # noqa: UP045
    json_: Json = False,
) -> None:
    """Provision the registry database, artifact location, experiments, models and the data store."""
    from trunkml.pipelines.workspace import workspace_cd

    _run_one("workspace-cd", json_, lambda emit: workspace_cd(load_settings(), env, emit))
