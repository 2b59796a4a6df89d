"""The model pipelines: model-ci (checks and a smoke run), model-ct (train the commit), model-cd (gate to champion).

model-cd runs gate → infra validation → approvals → promotion. It walks the environments
in order (``pipelines.model_cd.environments``,
e.g. dev then prod). In the first it runs the gate, checks the approvals and
promotes; each later one gets a verified copy of the version and its approvals
are checked there. It stops at the first environment whose approvals are missing,
in the state "waiting for approval", with the command that continues it.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

from trunkml.approvals.approval import current_decision
from trunkml.config import Environment, Settings, load_project, resolve_model, settings_for
from trunkml.datasets import DataService
from trunkml.datasets.pointer import DatasetRef
from trunkml.errors import AlreadyChampion, RefusedError, TrunkmlError, UsageError, WaitingForApproval
from trunkml.evaluation.evaluate import EvaluateRequest, evaluate
from trunkml.pipelines.steps import Emit, PipelineResult, PipelineRun, run_pipeline
from trunkml.pipelines.triggers import job_names
from trunkml.registry import CHAMPION, Registry, show
from trunkml.registry.aliases import current
from trunkml.release.blessing_policy import current_blessing, endpoint_for
from trunkml.release.crossenv import promote_across
from trunkml.release.infravalidate import infra_validate
from trunkml.release.promotion import MoveResult, approval_shortfall, promotable_decision, promote
from trunkml.training.jobspec import JobSpec, load_job
from trunkml.training.trainer import TrainRequest, TrainResult, train

Report = Callable[[str], None]
HOOK_TIMEOUT_S = 1800


def _quiet(_message: str) -> None:
    return None


def _jobs(settings: Settings, jobs: list[str] | None) -> list[str]:
    chosen = jobs or job_names(settings.project_root)
    if not chosen:
        raise UsageError("the project has no jobs", hint="add jobs/<model>/train.yaml")
    return chosen


def _hook(root: Path, command: tuple[str, ...]) -> str:
    try:
        done = subprocess.run(  # noqa: S603 - the project's own configured command
            list(command), cwd=root, capture_output=True, text=True, timeout=HOOK_TIMEOUT_S, check=False
        )
    except FileNotFoundError as exc:
        raise UsageError(f"the model-ci hook '{command[0]}' was not found", hint="fix pipelines.model_ci.hook") from exc
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip()[-1500:]
        raise RefusedError(f"`{' '.join(command)}` failed with exit {done.returncode}:\n{tail}")
    return f"`{' '.join(command)}` passed"


def _input_refs(settings: Settings, job: str) -> list[str]:
    """The job's dataset pointers, plus the parent of a ``split:`` part."""
    spec = load_job(settings.project_root, job).spec
    catalog = DataService(settings).catalog
    refs = []
    for ref in spec.inputs.values():
        refs.append(ref)
        pointer = catalog.get(DatasetRef.parse(ref))
        if pointer.uri.startswith("split:"):
            refs.append(pointer.uri.removeprefix("split:").split("?")[0])
    return sorted(set(refs))


def _pull(settings: Settings, refs: list[str]) -> str:
    summary = DataService(settings).pull(refs)
    failed = [f"{r.dataset}: {r.detail}" for r in summary.results if not r.ok]
    if failed:
        raise RefusedError("data pointer verification failed (fails closed):\n  " + "\n  ".join(failed))
    return f"{len(summary.results)} pointer(s), sha256 verified"


def _smoke(settings: Settings, job: str, rows: int, report: Report) -> TrainResult:
    """Train ``job`` on a sample into a throw-away registry: the user's code must train, log, load and predict."""
    with tempfile.TemporaryDirectory(prefix="trunkml-smoke-") as scratch:
        smoke = settings.model_copy(
            update={"env": Environment.DEV, "mlflow_tracking_uri": f"sqlite:///{Path(scratch).resolve() / 'smoke.db'}"}
        )
        return train(smoke, TrainRequest(job=job, sample_rows=rows), report)


def _job_spec(settings: Settings, job: str) -> JobSpec:
    return load_job(settings.project_root, job).spec


def _describe_spec(spec: JobSpec) -> str:
    return f"model {spec.model}, entrypoint {spec.entrypoint}"


def _describe_smoke(result: TrainResult) -> str:
    return f"trained, logged, loaded and predicted; eval F1 {result.metrics.get('f1', 0):.3f}"


def _describe_ct(result: TrainResult) -> str:
    what = "reused (same commit, job and data)" if result.reused else "registered as @challenger"
    return f"{result.model} v{result.version} {what}"


def _describe_move(result: MoveResult) -> str:
    moved = f"v{result.previous} -> v{result.version}" if result.previous else f"v{result.version}"
    return f"@champion in '{result.env}': {moved}"


def model_ci(settings: Settings, jobs: list[str] | None = None, emit: Emit | None = None) -> PipelineResult:
    """Hook, job-spec validation, data pointer verification and a smoke training run, per job."""
    config = load_project(settings.project_root).pipelines.model_ci

    def body(run: PipelineRun) -> None:
        if config.hook:
            run.step(f"hook: {' '.join(config.hook)}", partial(_hook, settings.project_root, config.hook), str)
        else:
            run.skip("hook", "none configured (pipelines.model_ci.hook)")
        for job in _jobs(settings, jobs):
            spec = run.step(f"validate job {job}", partial(_job_spec, settings, job), _describe_spec)
            refs = run.step(f"data pointers of {job}", partial(_input_refs, settings, job), ", ".join)
            run.step(f"verify data of {job}", partial(_pull, settings, refs), str)
            result = run.step(
                f"smoke train {job} ({config.smoke_rows} rows)",
                partial(_smoke, settings, job, config.smoke_rows, _quiet),
                _describe_smoke,
            )
            run.outputs[job] = {"model": spec.model, "smoke_f1": result.metrics.get("f1")}

    return run_pipeline("model-ci", body, emit)


def model_ct(
    settings: Settings, jobs: list[str] | None = None, emit: Emit | None = None, report: Report = _quiet
) -> PipelineResult:
    """``trunkml ct`` for each job: one registered version per (commit, job, data)."""

    def body(run: PipelineRun) -> None:
        for job in _jobs(settings, jobs):
            request = TrainRequest(job=job, ct=True)
            result = run.step(f"trunkml ct {job}", partial(train, settings, request, report), _describe_ct)
            run.outputs[job] = {"model": result.model, "version": result.version, "reused": result.reused}

    return run_pipeline("model-ct", body, emit)


def _still_current(settings: Settings, name: str, version: int) -> str | None:
    """The id of ``version``'s PROMOTE decision if it still applies (same champion, eval data and policy)."""
    registry = Registry(settings)
    try:
        found = promotable_decision(settings, registry, show(registry, name, str(version)), _champion(settings, name))
    except TrunkmlError:
        return None
    return found.record_sha256


def _gate(settings: Settings, name: str, version: int, summary: Path | None) -> str:
    decided = _still_current(settings, name, version)
    if decided is not None:  # evaluating again would make a new decision and void the approvals given on this one
        return f"PROMOTE decision {decided[:12]} still applies (champion, eval data and policy unchanged)"
    result = evaluate(settings, EvaluateRequest(model=name, challenger=str(version)), _quiet)
    markdown = result.reports.get("markdown")
    if summary is not None and markdown:
        with summary.open("a", encoding="utf-8") as sink:
            sink.write(Path(markdown).read_text(encoding="utf-8") + "\n")
    if not result.decision.promote:
        raise RefusedError(
            f"the gate rejected {name} v{version}: " + "; ".join(result.decision.reasons),
            hint=f"report: {result.reports.get('html')}",
        )
    against = f"v{result.champion}" if result.champion is not None else "cold start"
    return f"PROMOTE against {against} (report {result.reports.get('html')})"


def _infra(settings: Settings, name: str, version: int) -> str:
    """A passing infra validation of the version's files under the endpoint's budget (reused if there is one)."""
    record = show(Registry(settings), name, str(version))
    found = current_blessing(record, endpoint_for(settings, name))
    if found is not None:
        measured = f"p99 {found.p99_ms or 0:.0f} ms, {found.peak_memory_mib or 0:.0f} MiB"
        return f"passed earlier ({found.validated_at[:19]}; {measured})"
    result = infra_validate(settings, str(version), name)
    if not result.passed:
        failed = [reason for reason in result.reasons if "FAILS" in reason]
        raise RefusedError(
            f"infra validation of {name} v{version} failed: " + "; ".join(failed),
            hint=f"see `trunkml models show {version} --json` and the record {result.record}",
        )
    return (
        f"passed: ready in {result.ready_s or 0:.1f} s, {result.requests} requests, p99 {result.p99_ms or 0:.0f} ms, "
        f"peak {result.peak_memory_mib or 0:.0f} MiB, served = offline on {result.compared_texts} texts"
    )


def _approvals(settings: Settings, name: str, version: int, env: str) -> str:
    record = show(Registry(settings), name, str(version))
    missing = approval_shortfall(settings, record, env, current_decision(record))
    if missing:
        raise WaitingForApproval(
            f"{name} v{version} passed the gate and is waiting for approval: {missing.describe(env)}",
            hint=f"a reviewer runs `trunkml approve {version} --env {env}` (signed with their SSH key), then "
            "`trunkml pipeline model-cd`",
        )
    return "rule met"


def _resolve(settings: Settings, name: str, ref: str) -> int:
    return show(Registry(settings), name, ref).version


def _describe_version(version: int) -> str:
    return f"v{version}"


def _champion(settings: Settings, name: str) -> int | None:
    return current(Registry(settings), name, CHAMPION)


def model_cd(
    settings: Settings,
    ref: str = "@challenger",
    model: str | None = None,
    environments: list[str] | None = None,
    actor: str | None = None,
    emit: Emit | None = None,
) -> PipelineResult:
    """Gate, approvals and promotion of ``ref`` through the environments in order."""
    project = load_project(settings.project_root)
    order = environments or list(project.pipelines.model_cd.environments) or [settings.env.value]
    who = actor or settings.actor or ""

    def body(run: PipelineRun) -> None:
        if not who.strip():
            raise UsageError("who promotes?", hint="pass --by NAME (CI: TRUNKML_ACTOR or GITHUB_ACTOR)")
        name = resolve_model(settings, model)
        first = settings_for(settings, order[0])
        version = run.step(f"resolve {ref}", partial(_resolve, first, name, ref), _describe_version)
        run.outputs.update(model=name, version=version, environments={})
        for index, env in enumerate(order):
            here = settings_for(settings, env)
            if index == 0 and _champion(here, name) == version:
                run.skip(
                    f"{env}: gate, infra validation, approvals, promote",
                    f"v{version} is already the champion in '{env}'",
                )
            elif index == 0:
                run.step(f"{env}: gate", partial(_gate, here, name, version, settings.step_summary), str)
                if project.gate.infra_validation or "prod" in order:  # prod always needs it
                    run.step(f"{env}: infra validation", partial(_infra, here, name, version), str)
                else:
                    run.skip(f"{env}: infra validation", "not required outside prod (gate.infra_validation: false)")
                run.step(f"{env}: approvals", partial(_approvals, here, name, version, env), str)
                run.step(
                    f"{env}: promote v{version}", partial(promote, here, str(version), who, "model-cd"), _describe_move
                )
            else:
                try:
                    run.step(
                        f"{env}: copy from {order[0]}, check approvals, promote",
                        partial(promote_across, settings, str(version), order[0], env, who, "model-cd", name),
                        _describe_move,
                    )
                except AlreadyChampion as exc:
                    run.skip(f"{env}: promote", exc.message)
            run.outputs["environments"][env] = "champion"

    return run_pipeline("model-cd", body, emit)
