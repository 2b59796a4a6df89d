"""A pipeline run as a list of timed steps, ending in a state and the exit code docs/architecture.md gives it.

Each pipeline is a plain function that calls :meth:`PipelineRun.step` for every
step. The first step that raises a :class:`~trunkml.errors.TrunkmlError` ends the
run: its exit code becomes the pipeline's (1 refused, 2 usage/config, 3 a store
or server unavailable). :class:`WaitingForApproval` ends it in the state
"waiting for approval" (exit 1): nothing failed, a person has to act.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from trunkml.errors import EXIT_OK, TrunkmlError, UnavailableError, WaitingForApproval

T = TypeVar("T")
State = Literal["succeeded", "failed", "waiting for approval"]
Status = Literal["ok", "failed", "skipped", "waiting"]


class StepResult(BaseModel):
    """One step: what it did, how long it took, and how it ended."""

    model_config = ConfigDict(frozen=True)

    name: str
    status: Status
    seconds: float
    detail: str = ""


class PipelineResult(BaseModel):
    """A finished pipeline run."""

    model_config = ConfigDict(frozen=True)

    pipeline: str
    state: State
    exit_code: int
    seconds: float
    steps: list[StepResult]
    outputs: dict[str, Any] = {}
    error: str | None = None
    hint: str | None = None

    @property
    def ok(self) -> bool:
        """True when the pipeline succeeded."""
        return self.state == "succeeded"


Emit = Callable[[str, StepResult | None], None]
"""Called with (step name, None) when a step starts and (step name, result) when it ends."""


def _quiet(_name: str, _result: StepResult | None) -> None:
    return None


class PipelineRun:
    """Collects the steps of one pipeline run."""

    def __init__(self, pipeline: str, emit: Emit | None = None) -> None:
        self.pipeline = pipeline
        self.emit = emit or _quiet
        self.steps: list[StepResult] = []
        self.outputs: dict[str, Any] = {}
        self._started = time.perf_counter()

    def step(self, name: str, action: Callable[[], T], describe: Callable[[T], str] = lambda _: "") -> T:
        """Run ``action`` as step ``name``; record and re-raise what it raises."""
        self.emit(name, None)
        started = time.perf_counter()
        try:
            value = action()
        except WaitingForApproval as exc:
            self._record(name, "waiting", started, exc.message)
            raise
        except TrunkmlError as exc:
            self._record(name, "failed", started, exc.message)
            raise
        except subprocess.TimeoutExpired as exc:
            self._record(name, "failed", started, f"timed out after {exc.timeout:.0f} s")
            raise UnavailableError(f"{name}: `{exc.cmd}` did not finish within {exc.timeout:.0f} s") from exc
        self._record(name, "ok", started, describe(value))
        return value

    def skip(self, name: str, why: str) -> None:
        """Record a step that did not need to run, and why."""
        self._record(name, "skipped", time.perf_counter(), why)

    def _record(
        self, name: str, status: Literal["ok", "failed", "skipped", "waiting"], started: float, detail: str
    ) -> None:
        result = StepResult(name=name, status=status, seconds=time.perf_counter() - started, detail=detail)
        self.steps.append(result)
        self.emit(name, result)

    def finish(self, error: TrunkmlError | None = None) -> PipelineResult:
        """The run's result: succeeded, waiting for approval, or failed with the error's exit code."""
        state: State = "succeeded"
        code = EXIT_OK
        if isinstance(error, WaitingForApproval):
            state, code = "waiting for approval", error.exit_code
        elif error is not None:
            state, code = "failed", error.exit_code
        return PipelineResult(
            pipeline=self.pipeline,
            state=state,
            exit_code=code,
            seconds=time.perf_counter() - self._started,
            steps=self.steps,
            outputs=self.outputs,
            error=error.message if error else None,
            hint=error.hint if error else None,
        )


def run_pipeline(name: str, body: Callable[[PipelineRun], None], emit: Emit | None = None) -> PipelineResult:
    """Run ``body`` as pipeline ``name``; a :class:`TrunkmlError` ends it with that error's state and code."""
    run = PipelineRun(name, emit)
    try:
        body(run)
    except TrunkmlError as exc:
        return run.finish(exc)
    return run.finish()
