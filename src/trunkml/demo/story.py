"""The demo: the trunk-based story in a throw-away git workspace, driven by the pipelines.

Each commit goes through ``trunkml pipeline run`` (the local runner CI uses):
commit A trains v1, which passes the cold-start floors and waits for a reviewer;
commit B adds data, v2 passes the gate and the running server hot-swaps to it
under traffic; commit C regresses and the gate rejects v3 with its report. It
uses only the embedded defaults (local store, no network) and SYNTHETIC DEMO DATA,
or with ``data="fortuna"`` the real Fortuna 2019 pointers through the mirror.
Each step reports through ``emit`` as it happens; the returned record is what the
CLI summarises.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from trunkml.config import Settings
from trunkml.datasets import DataService
from trunkml.datasets.pointer import SliceSpec
from trunkml.demo.demoproject import (
    FORTUNA,
    FORTUNA_PARAMS_B,
    MODEL,
    DemoData,
    endpoint_path,
    git,
    params_path,
    prepare_workdir,
    set_params,
)
from trunkml.demo.demoserver import SAMPLE, DemoServer, Input, body_of
from trunkml.demo.synthdata import SynthSpec, synth_dataset
from trunkml.demo.traffic import monitor_step, send_traffic
from trunkml.errors import RefusedError, UsageError
from trunkml.pipelines.checkmain import check_main
from trunkml.pipelines.localrunner import run_triggered
from trunkml.pipelines.model_pipelines import model_cd, model_ct
from trunkml.pipelines.steps import PipelineResult
from trunkml.registry import Registry, show
from trunkml.registry.events import history
from trunkml.release.audit import audit
from trunkml.release.promotion import promote, rollback, status
from trunkml.release.signoff import sign_off

NO_COMMIT = "0" * 40

Emit = Callable[[str, str], None]
Report = Callable[[str], None]


class DemoStep(BaseModel):
    """One step of the story and what it showed."""

    model_config = ConfigDict(frozen=True)

    name: str
    ok: bool
    detail: str


class DemoReport(BaseModel):
    """The whole demo run."""

    model_config = ConfigDict(frozen=True)

    workdir: str
    data: str
    seconds: float
    steps: list[DemoStep]
    server_url: str | None = None
    """Set when the server was left running (``keep_serving``), with its process id."""
    server_pid: int | None = None

    @property
    def ok(self) -> bool:
        """True when every step behaved as the story expects."""
        return all(step.ok for step in self.steps)


class _Story:
    """Runs steps in order, recording each one."""

    def __init__(self, service: DataService, emit: Emit, report: Report) -> None:
        self.service = service
        self.emit = emit
        self.report = report
        self.steps: list[DemoStep] = []
        self.server: DemoServer
        self.sample: Input = SAMPLE
        self.traffic_sent = 0
        """What the demo's client sends: a text, or a record for a tabular model."""

    def record(self, name: str, ok: bool, detail: str) -> None:
        self.steps.append(DemoStep(name=name, ok=ok, detail=detail))
        self.emit(name, detail)

    def add_synthetic(self, name: str, spec: SynthSpec) -> None:
        result = synth_dataset(self.service, spec, out=None, add=name)
        assert result is not None
        self.record(
            f"add {name}",
            result.created,
            f"{result.pointer.ref}: {spec.rows} rows, sha256 {result.pointer.sha256[:12]}",
        )

    def declare_slices(self, name: str, spec: SliceSpec) -> None:
        """The gate reports (and guards) recall per slice of the eval set."""
        pointer = self.service.declare_slices(name, spec)
        loaded = self.service.load(pointer)
        labels = loaded.labelled()["label"].to_numpy()
        sizes = ", ".join(
            f"{slice_name}: {int(labels[mask].sum())} positives"
            for slice_name, mask in self.service.slices(loaded).items()
        )
        edges = ",".join(map(str, spec.length_buckets))
        self.record(
            f"trunkml data slices {name} --length-buckets {edges}", pointer.slices == spec, f"{pointer.ref}: {sizes}"
        )

    def verify(self, refs: list[str], expect_ok: bool) -> None:
        summary = self.service.verify(refs)
        failed = [r.dataset for r in summary.results if not r.ok]
        detail = "all hashes match" if summary.ok else f"fails closed on {', '.join(failed)} (exit {summary.exit_code})"
        self.record(f"verify {' '.join(refs) or '(all)'}", summary.ok == expect_ok, detail)

    def validate(self, train: str, held_out: str, max_overlap: float | None, expect_ok: bool) -> None:
        outcome = self.service.validate(train, held_out, max_overlap)
        report, leak = outcome.reports[0], outcome.leakage
        assert leak is not None
        verdict = "accepted" if outcome.ok else "refused (exit 1)"
        detail = (
            f"{report.rows} rows, {report.positive_share:.0%} positive; {leak.overlapping_rows}/{leak.eval_rows} "
            f"eval rows also in training ({leak.share:.1%}), allowance {leak.allowance:.0%}: {verdict}"
        )
        allowance = "default 0%" if max_overlap == 0 else "trunkml.yaml allowance"
        self.record(f"validate {train} --against {held_out} ({allowance})", outcome.ok == expect_ok, detail)

    def tamper(self, ref: str) -> None:
        """Flip one byte of a stored object, to show verification fails closed and pull repairs it."""
        pointer = self.service.resolve([ref])[0]
        path = self.service.store.object_path(pointer.sha256)
        path.chmod(0o644)
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
        self.record(f"tamper {ref}", True, f"flipped one byte in {path.name[:12]}… of the store")

    def set_params(self, values: dict[str, str]) -> None:
        root = self.service.settings.project_root
        set_params(root, values)
        edits = ", ".join(f"{key}={value}" for key, value in values.items())
        self.record(f"edit params: {edits}", True, str(params_path(root).relative_to(root)))

    def commit(self, message: str) -> str:
        root = self.service.settings.project_root
        git(root, "add", "-A")
        git(root, "commit", "-qm", message)
        sha = git(root, "rev-parse", "HEAD")
        self.record(f"git commit: {message}", True, f"main at {sha[:7]}")
        return sha

    def steps_ok(self) -> bool:
        return all(step.ok for step in self.steps)

    def heading(self, title: str) -> None:
        self.emit("", title)

    def _pipeline(self, title: str, result: PipelineResult, expect: str) -> None:
        detail = f"{result.state} in {result.seconds:.1f} s"
        if result.state != "succeeded" and result.hint:
            detail += f" ({result.hint})"
        self.record(title, result.state == expect, detail)
        marks = {"ok": "✓", "failed": "✗", "skipped": "–", "waiting": "⏸"}
        for step in result.steps:
            first_line = step.detail.splitlines()[0][:240] if step.detail else ""
            self.emit(f"      {marks[step.status]} {step.name}", first_line)

    def pipeline_run(self, base: str, expect: dict[str, str]) -> None:
        """``trunkml pipeline run --base BASE --head HEAD --event push``: what CI runs for the new commit."""
        settings = self.service.settings
        head = git(settings.project_root, "rev-parse", "HEAD")
        found = run_triggered(settings, base, head, "push", actor="ci-bot")
        names = [r.pipeline for r in found.results]
        self.record(
            f"trunkml pipeline run --base {base[:7]} --head {head[:7]}",
            names == list(expect),
            f"triggered by {len(found.triggers.changed)} changed file(s): {', '.join(found.triggers.names)}",
        )
        for result in found.results:
            self._pipeline(f"  {result.pipeline}", result, expect.get(result.pipeline, "succeeded"))

    def ct_again(self, expect_version: int) -> None:
        """model-ct on the same commit reuses the version: one version per (commit, job, data)."""
        result = model_ct(self.service.settings)
        out: dict[str, object] = next(iter(result.outputs.values()), {})
        self.record(
            "trunkml pipeline model-ct (same commit again)",
            (out.get("version"), out.get("reused")) == (expect_version, True),
            f"v{out.get('version')} reused: same commit, job and data",
        )

    def approve_and_promote(self, version: int, reviewer: str) -> None:
        settings = self.service.settings
        registry = Registry(settings)
        record = show(registry, MODEL, str(version))
        approval, evidence = sign_off(settings, registry, record, settings.env.value, "reviewed", by=reviewer)
        infra = evidence.infra
        seen = f"decision {evidence.decision.decision}, {len(evidence.slices)} slice(s), " + (
            f"infra validation passed (p99 {infra.p99_ms or 0:.0f} ms)" if infra and infra.passed else "no infra result"
        )
        result = model_cd(settings, str(version), actor="ci-bot")
        self.record(
            f"trunkml approve {version} && trunkml pipeline model-cd {version}",
            result.ok,
            f"{reviewer} (not the author) saw the evidence ({seen}) and signed an approval with their SSH key "
            f"(statement over decision {approval.decision[:12]}); "
            f"{result.steps[-1].name}: {result.steps[-1].detail}",
        )

    def refuse_promotion(self, version: int, reviewer: str) -> None:
        try:
            promote(self.service.settings, str(version), actor=reviewer)
        except RefusedError as exc:
            self.record(
                f"trunkml promote {version}", True, f"refused, @champion unchanged: {exc.message.splitlines()[1]}"
            )
            return
        self.record(f"trunkml promote {version}", False, "was promoted although the gate rejected it")

    def rollback(self, expect: int) -> None:
        result = rollback(self.service.settings, actor="on-call", reason="demo: return to the previous champion")
        self.record("trunkml rollback", result.version == expect, f"@champion v{result.previous} → v{result.version}")

    def status(self) -> None:
        found = status(self.service.settings)
        champion = found.champion.version if found.champion else None
        kinds = ", ".join(e.kind for e in found.events)
        self.record("trunkml status", champion is not None, f"champion v{champion}; history: {kinds}")

    def history(self) -> None:
        events = history(Registry(self.service.settings), MODEL)
        moves = " → ".join(f"{e.kind} v{e.to_version}" for e in events)
        self.record("trunkml history", bool(events), moves)

    def check_main(self) -> None:
        found = check_main(self.service.settings, MODEL)
        self.record(
            "trunkml check-main",
            found.ok,
            f"{found.commits_checked} commit(s) change the model, each has exactly one version"
            if found.ok
            else f"{len(found.gaps)} gap(s)",
        )

    def serve(self, version: int) -> DemoServer:
        server = DemoServer(self.service.settings, self.sample)
        self.server = server
        server.wait_for_version(version)
        code, body = server.predict()
        self.record(
            "trunkml serve",
            code == 200 and body.get("version") == version,
            f"{server.url}: v{body.get('version')} answers label {body.get('label')}, score {body.get('score', 0):.3f}",
        )
        return server

    def hot_swap(self, version: int, reviewer: str) -> None:
        """Promote ``version`` while a client keeps predicting; the server must swap without a failed request."""
        load = self.server.under_load()
        try:
            self.approve_and_promote(version, reviewer)
            self.server.wait_for_version(version)
            time.sleep(0.5)  # keep asking for a moment after the swap
        finally:
            load.stop()
        self.record(
            f"server hot-swaps to v{version}",
            load.failed == 0 and load.versions[-1:] == [version],
            f"{load.ok} requests answered, {load.failed} failed; versions seen in order: {load.versions}",
        )

    def follows_rollback(self, version: int) -> None:
        self.server.wait_for_version(version)
        code, body = self.server.predict()
        self.record(
            "server follows the rollback", code == 200 and body.get("version") == version, f"v{version} answers"
        )

    def last_answer(self, stop: bool) -> None:
        code, body = self.server.predict()
        self.record(
            f"curl -d '{{\"{next(iter(body_of(self.sample)))}\": ...}}' {self.server.url}/predict",
            code == 200,
            f"{code}: v{body.get('version')} label {body.get('label')} score {body.get('score', 0):.3f} "
            f"(request {str(body.get('request_id'))[:8]}…)",
        )
        if stop:
            exit_code = self.server.stop()
            self.record(
                "SIGTERM the server", exit_code in (0, -signal.SIGTERM), "in-flight requests finished; log written"
            )

    def traffic(self, eval_ref: str) -> None:
        """Held-out texts as live traffic, each with its true label sent back through /feedback."""
        total, answered = send_traffic(self.service, self.server, eval_ref)
        self.traffic_sent = total
        logged = self.server.wait_logged(answered)
        self.record(
            f"send {eval_ref} as traffic + /feedback",
            answered == total and logged,
            f"{answered}/{total} {'texts' if isinstance(self.sample, str) else 'records'} answered",
        )

    def monitor(self) -> None:
        """`trunkml monitor` over the held-out traffic (the hot swap's load is older than that window)."""
        root = self.service.settings.project_root
        monitor_step(self.service.settings, endpoint_path(root), self.record, self.traffic_sent)

    def audit(self) -> None:
        """`trunkml audit`: the hash chain, the aliases and every champion's signed approvals verify."""
        found = audit(self.service.settings, MODEL)
        problems = "; ".join(f.message for f in found.findings[:3])
        self.record(
            "trunkml audit",
            found.ok,
            f"{found.events} events in the hash chain, intact; @champion v{found.champion} agrees with it, and "
            "every champion's approvals are SSH signatures by allowed signers who wrote none of the change"
            if found.ok
            else problems,
        )

    def pull(self, ref: str) -> None:
        summary = self.service.pull([ref])
        result = summary.results[0]
        self.record(f"pull {ref}", summary.ok, f"restored from {result.where.value}: {result.detail[:60]}")


def run_demo(
    workdir: Path,
    source_project: Path,
    emit: Emit,
    report: Report,
    data: DemoData = "synthetic",
    mirror: Path | None = None,
    keep_serving: bool = False,
) -> DemoReport:
    """Play the trunk-based story in ``workdir`` (a fresh git repo) and return what happened."""
    started = time.perf_counter()
    workdir = workdir.resolve()
    if data == "fortuna" and mirror is None:
        raise UsageError("--data fortuna reads the real dataset through the mirror", hint="set TRUNKML_DATA_MIRROR")
    prepare_workdir(workdir, data, source_project)
    home = workdir / ".trunkml"
    settings = Settings(
        project=workdir,
        home=home,
        data_mirror=mirror if data == "fortuna" else None,
        mlflow_tracking_uri=f"sqlite:///{home / 'mlflow.db'}",
    )
    story = _Story(DataService(settings), emit, report)
    report("commit A")
    story.heading("Commit A: dataset pointers v1 and the model (trunkml's TF-IDF family)")
    if data == "fortuna":
        story.verify([], expect_ok=True)
    else:
        story.add_synthetic("demo-tweets", SynthSpec(rows=400, seed=7))
        story.add_synthetic("demo-eval", SynthSpec(rows=1000, seed=99))
        story.declare_slices("demo-eval", SliceSpec(length_buckets=(11, 15)))
        story.verify([], expect_ok=True)
        story.validate("demo-tweets", "demo-eval", max_overlap=0.0, expect_ok=False)
        story.validate("demo-tweets", "demo-eval", max_overlap=None, expect_ok=True)
    first = story.commit("A: dataset pointers v1 and the model")
    story.pipeline_run(  # the first push: every file is new
        NO_COMMIT, {"workspace-cd": "succeeded", "model-ct": "succeeded", "model-cd": "waiting for approval"}
    )
    story.ct_again(expect_version=1)
    story.approve_and_promote(1, reviewer="reviewer")
    report("starting the server")
    story.serve(1)
    server_url: str | None = None
    server_pid: int | None = None
    try:
        _play_rest(story, data, first, keep_serving)
    finally:
        if keep_serving and story.steps_ok():
            server_url, server_pid = story.server.url, story.server.process.pid
        else:
            story.server.stop()
    result = DemoReport(
        workdir=str(workdir),
        data=data,
        seconds=time.perf_counter() - started,
        steps=story.steps,
        server_url=server_url,
        server_pid=server_pid,
    )
    if not result.ok:
        raise RefusedError("the demo did not behave as expected", hint="see the steps above")
    return result


def _play_rest(story: _Story, data: DemoData, first: str, keep_serving: bool) -> None:
    """Everything after the first promotion, with the server following @champion."""
    if data == "synthetic":
        story.heading("Data is verified on every read")
        story.tamper("demo-eval")
        story.verify(["demo-eval"], expect_ok=False)
        story.pull("demo-eval")
        story.verify([], expect_ok=True)
        story.heading("Commit B: more training data (a new version of the pointer)")
        story.add_synthetic("demo-tweets", SynthSpec(rows=3000, seed=8))
        second = story.commit("B: more training data")
    else:
        story.heading("Commit B: the family's features (word bigrams, character 2-5-grams)")
        story.set_params(FORTUNA_PARAMS_B)
        second = story.commit("B: richer features")
    waits = {"model-ct": "succeeded", "model-cd": "waiting for approval"}
    story.pipeline_run(first, {"workspace-cd": "succeeded", **waits} if data == "synthetic" else waits)
    story.hot_swap(2, reviewer="reviewer")
    story.heading("Commit C: a regression (far too much regularisation)")
    story.set_params({"C": "0.05"})
    story.commit("C: stronger regularisation")
    story.pipeline_run(second, {"model-ct": "succeeded", "model-cd": "failed"})
    story.refuse_promotion(3, reviewer="reviewer")
    play_close(story, "demo-eval" if data == "synthetic" else FORTUNA[2], keep_serving, "traffic")


def play_close(story: _Story, eval_ref: str, keep_serving: bool, traffic: str) -> None:
    """The story's end: rollback, where main stands, then ``eval_ref`` as ``traffic`` with feedback, and the monitor."""
    story.heading("Rollback, and where main stands")
    story.rollback(expect=1)
    story.follows_rollback(1)
    story.status()
    story.history()
    story.check_main()
    story.heading(f"Production: {traffic}, feedback, and `trunkml monitor`")
    story.traffic(eval_ref)
    story.last_answer(stop=not keep_serving)
    story.monitor()
    story.audit()
