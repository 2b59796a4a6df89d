"""A verified model version running in its own process, answering batches over a pipe.

Python runs one thread at a time, so a model predicting on a thread of the server
process would stall the event loop that accepts requests. In its own process the
model computes while the server parses, answers and logs: on two cores that is
the difference between taking turns and working side by side.

The server downloads and verifies the files; the child checks them again before
loading (nothing may change them in between), then answers a list of rows (texts or records) with
its answers (labels, scores, class probabilities) until it is told to stop. Children are started by a fork
server that has already imported MLflow, so a swap does not pay that import again.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import shutil
import signal
import tempfile
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from trunkml.errors import IntegrityError
from trunkml.registry.artifacts import file_digests, verify_model_files
from trunkml.registry.connection import Registry
from trunkml.registry.explain import DEFAULT_TOP_K, Explanation, explain_texts, warm_up
from trunkml.registry.model_inputs import Answers, Row, metadata, predict_answers

START_TIMEOUT_S = 300.0
_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(["trunkml.registry.model_process", "mlflow.pyfunc", "pandas", "sklearn"])


class ModelProcessError(RuntimeError):
    """The model process failed to start, raised while predicting, or died."""


def _serve(conn: Connection, folder: str, recorded: dict[str, str]) -> None:
    """Child process: verify, load, then answer batches until told to stop (None)."""
    from trunkml.registry.loading import load_verified

    # Ctrl-C or a SIGTERM sent to the whole process group is for the server, which drains its requests and
    # then stops this child through the pipe; dying first would fail every request still in flight.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

    try:
        # One thread for native pools (OpenMP, BLAS): the server process needs the other cores, and a
        # model spinning up a thread pool per request answers single rows slower under load, not faster.
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
        if file_digests(Path(folder)) != recorded:
            raise IntegrityError("model files changed between download and load")
        model = load_verified(Path(folder))
        warm_up(model)
    except BaseException as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", metadata(model)))
    while True:
        message = conn.recv()
        if message is None:
            return
        try:
            if isinstance(message, tuple):  # ("explain", texts, top_k)
                _, texts, top_k = message
                reply: tuple[str, Any] = ("ok", [e.model_dump() for e in explain_texts(model, texts, top_k)])
            else:
                reply = ("ok", predict_answers(model, message).to_wire())
        except Exception as exc:  # the model's own error goes back to the server
            reply = ("error", f"{type(exc).__name__}: {exc}")
        conn.send(reply)


class ModelProcess:
    """A registered version, verified against its recorded digests, predicting in a child process."""

    def __init__(self, registry: Registry, name: str, version: int, *, answer_timeout_s: float = 60.0) -> None:
        self._answer_timeout = answer_timeout_s
        self._lock = threading.Lock()
        self._scratch = tempfile.mkdtemp(prefix="trunkml-model-")
        try:
            local, self.digest = verify_model_files(registry, name, version, Path(self._scratch))
            self._conn, child = _context.Pipe()
            self._process = _context.Process(
                target=_serve,
                args=(child, str(local), file_digests(local)),
                name=f"trunkml-{name}-v{version}",
                daemon=True,
            )
            try:
                self._process.start()
            finally:
                child.close()
            self._expect_ready()
        except BaseException:
            self.close()
            raise

    def _expect_ready(self) -> None:
        if not self._conn.poll(START_TIMEOUT_S):
            raise ModelProcessError(f"the model process did not start within {START_TIMEOUT_S:.0f} s")
        try:
            status, detail = self._conn.recv()
        except EOFError as exc:
            raise ModelProcessError(f"the model process died while loading (exit {self._process.exitcode})") from exc
        if status != "ready":
            raise ModelProcessError(str(detail))
        self.metadata: dict[str, Any] = detail if isinstance(detail, dict) else {}
        """The model's ``MLmodel`` metadata: its threshold, schema and explanation baseline."""

    @property
    def alive(self) -> bool:
        """True while the child process runs."""
        return self._process.is_alive()

    def _call(self, message: object) -> Any:
        """Send one request to the child and wait for its answer (one caller at a time)."""
        with self._lock:
            try:
                self._conn.send(message)
                if not self._conn.poll(self._answer_timeout):
                    # A reply that comes later would be taken for the next request's: the child cannot be reused.
                    self._process.kill()
                    raise ModelProcessError(
                        f"the model process did not answer within {self._answer_timeout:.0f} s; killed"
                    )
                status, detail = self._conn.recv()
            except (EOFError, OSError) as exc:
                raise ModelProcessError(f"the model process is gone (exit {self._process.exitcode})") from exc
        if status != "ok":
            raise ModelProcessError(str(detail))
        return detail

    def predict(self, rows: Sequence[Row]) -> tuple[np.ndarray, np.ndarray]:
        """(labels, scores) for ``rows`` (texts or records), computed in the child."""
        answers = self.answer(rows)
        return answers.labels, answers.scores

    def answer(self, rows: Sequence[Row]) -> Answers:
        """Everything the model answers for ``rows`` (labels, scores, class probabilities, intervals)."""
        return Answers.from_wire(self._call(list(rows)))

    def explain(self, rows: Sequence[Row], top_k: int = DEFAULT_TOP_K) -> list[Explanation]:
        """Explanations of ``rows`` (see ``registry.explain``), computed in the child."""
        return [Explanation.model_validate(item) for item in self._call(("explain", list(rows), top_k))]

    def close(self) -> None:
        """Stop the child (politely, then firmly) and remove the downloaded files."""
        process = getattr(self, "_process", None)
        if process is not None and process.pid is not None:
            with contextlib.suppress(OSError, ValueError):
                self._conn.send(None)
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join(5)
        conn = getattr(self, "_conn", None)
        if conn is not None:
            conn.close()
        shutil.rmtree(self._scratch, ignore_errors=True)
