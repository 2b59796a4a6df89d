"""The local runner: the pipelines a change triggers, run in dependency order, as CI would run them.

workspace-cd → environment-ci → environment-cd → model-ci → model-ct → model-cd.
model-cd runs for every version model-ct produced, new or reused: a reused one
may still be waiting for its approval (model-cd skips a version that is already
the champion). The first pipeline that does not succeed
ends the run, with its exit code and state ("waiting for approval" included).
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ConfigDict

from trunkml.config import Settings
from trunkml.config.project import Event
from trunkml.errors import EXIT_OK, UsageError
from trunkml.pipelines.environment_pipelines import environment_cd, environment_ci
from trunkml.pipelines.model_pipelines import model_cd, model_ci, model_ct
from trunkml.pipelines.steps import Emit, PipelineResult, StepResult
from trunkml.pipelines.triggers import ORDER, TriggerResult, triggered
from trunkml.pipelines.workspace import workspace_cd

Announce = Callable[[str, list[str]], None]
"""Called with (pipeline, files that triggered it) before each pipeline starts."""


class RunResult(BaseModel):
    """What the local runner did for one change."""

    model_config = ConfigDict(frozen=True)

    triggers: TriggerResult
    results: list[PipelineResult]

    @property
    def exit_code(self) -> int:
        """The first non-zero exit code, else 0."""
        return next((r.exit_code for r in self.results if r.exit_code != EXIT_OK), EXIT_OK)

    @property
    def state(self) -> str:
        """'succeeded', 'nothing to run', or the state of the pipeline that stopped the run."""
        if not self.results:
            return "nothing to run"
        stopped = next((r for r in self.results if not r.ok), None)
        return "succeeded" if stopped is None else f"{stopped.pipeline}: {stopped.state}"


def _noop(_pipeline: str, _files: list[str]) -> None:
    return None


def run_triggered(
    settings: Settings,
    base: str,
    head: str,
    event: Event,
    *,
    offline: bool = False,
    actor: str | None = None,
    emit: Emit | None = None,
    announce: Announce = _noop,
    only: list[str] | None = None,
) -> RunResult:
    """Run what ``base``..``head`` triggers for ``event`` (``only``: just these pipelines); stop at the first that
    does not succeed."""
    found = triggered(settings, base, head, event)
    unknown = sorted(set(only or ()) - set(ORDER))
    if unknown:
        raise UsageError(f"unknown pipeline(s) {', '.join(unknown)}", hint=f"choose from {', '.join(ORDER)}")
    if only:
        found = found.model_copy(update={"pipelines": [p for p in found.pipelines if p.pipeline in only]})
    results: list[PipelineResult] = []
    versions: list[tuple[str, str]] = []
    for item in found.pipelines:
        name = item.pipeline
        if name == "model-cd":
            for model, version in versions:
                announce(f"model-cd {model} v{version}", item.files)
                results.append(model_cd(settings, ref=version, model=model, actor=actor, emit=emit))
                if not results[-1].ok:
                    break
            if not versions:
                results.append(_nothing_trained())
            continue
        announce(name, item.files)
        if name == "workspace-cd":
            result = workspace_cd(settings, emit=emit)
        elif name == "environment-ci":
            result = environment_ci(settings, offline=offline, emit=emit)
        elif name == "environment-cd":
            result = environment_cd(settings, emit=emit)
        elif name == "model-ci":
            result = model_ci(settings, item.jobs, emit=emit)
        else:
            result = model_ct(settings, item.jobs, emit=emit)
            versions = [(out["model"], str(out["version"])) for out in result.outputs.values()]
        results.append(result)
        if not result.ok:
            break
    return RunResult(triggers=found, results=results)


def _nothing_trained() -> PipelineResult:
    step = StepResult(name="versions", status="skipped", seconds=0.0, detail="model-ct did not run in this call")
    return PipelineResult(pipeline="model-cd", state="succeeded", exit_code=EXIT_OK, seconds=0.0, steps=[step])
