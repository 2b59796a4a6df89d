"""The serving core behind the routes: routing, prediction, shadowing, logging and feedback.

Everything here runs on the event loop and never blocks it: model calls go
through the batchers' threads, log writes through the prediction log's thread,
registry reads through ``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from trunkml.config import Settings
from trunkml.datasets.schema import DataSchema
from trunkml.errors import (
    BadRequest,
    ModelFailed,
    NotFoundError,
    RequestTimedOut,
    UnavailableError,
    UnsupportedMediaType,
)
from trunkml.registry import Registry
from trunkml.registry.explain import Explanation
from trunkml.registry.model_inputs import Answers
from trunkml.serving.auth import WebhookVerifier
from trunkml.serving.batching import BatcherClosed, Scored
from trunkml.serving.follower import Follower
from trunkml.serving.predlog import PredictionLog, PredictionRow, SqliteSink, canonical_json
from trunkml.serving.routing import choose_route
from trunkml.serving.schemas import (
    REQUEST_ID_PATTERN,
    error_details,
    feedback_model,
    records_model,
    request_models,
    whole_number_names,
)
from trunkml.serving.served_model import ModelInfo, ServedModel
from trunkml.serving.spec import EndpointSpec
from trunkml.serving.telemetry import ServerMetrics

log = logging.getLogger("trunkml.serving")
RECENT_REQUESTS = 200_000
REQUEST_ID = re.compile(REQUEST_ID_PATTERN)
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class Answer:
    """A prediction request's answer, ready to render."""

    request_id: str
    route: str
    served: ServedModel
    scored: Scored
    single: bool
    explanations: list[Explanation] | None = None

    def body(self) -> bytes:
        """The JSON response body."""
        head: dict[str, Any] = {
            "request_id": self.request_id,
            "model": self.served.info.name,
            "version": self.served.info.version,
            "route": self.route,
        }
        explained = [e.model_dump() for e in self.explanations] if self.explanations else None
        rows = answer_rows(self.scored, self.served.info.class_list)
        if self.single:
            head.update(rows[0])
            if explained:
                head["explanation"] = explained[0]
        else:
            head["predictions"] = rows
            for row, explanation in zip(rows, explained or [], strict=False):
                row["explanation"] = explanation
        return json.dumps(head, allow_nan=False).encode()


def answer_rows(answers: Answers, class_list: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """One JSON object per input, as the model's task answers.

    Binary: ``label`` (0/1) and ``score`` (the probability of label 1). Multi-class: ``label`` (the class name),
    ``score`` (its probability) and ``probabilities`` by class name. Regression: ``prediction``, with an
    ``interval`` when the model answers quantiles.
    """
    if answers.task == "regression":
        values: list[dict[str, Any]] = [{"prediction": value} for value in answers.scores.tolist()]
        if answers.intervals is not None and answers.levels is not None:
            low, high = answers.levels
            for value, (lower, upper) in zip(values, answers.intervals.tolist(), strict=True):
                value["interval"] = {"lower": lower, "upper": upper, "levels": [low, high]}
        return values
    if answers.task == "multiclass":
        width = answers.probabilities.shape[1] if answers.probabilities is not None else 0
        names = class_list or tuple(str(k) for k in range(width))
        rows: list[dict[str, Any]] = []
        for i, (label, score) in enumerate(zip(answers.labels.tolist(), answers.scores.tolist(), strict=True)):
            row = {"label": names[label] if label < len(names) else str(label), "score": score}
            if answers.probabilities is not None:
                row["probabilities"] = dict(zip(names, answers.probabilities[i].tolist(), strict=False))
            rows.append(row)
        return rows
    return [
        {"label": label, "score": score}
        for label, score in zip(answers.labels.tolist(), answers.scores.tolist(), strict=True)
    ]


def check_json(content_type: str | None) -> None:
    """Refuse bodies not declared as JSON (415)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaType(
            f"expected a JSON body, got content-type '{media or 'none'}'", hint="send 'Content-Type: application/json'"
        )


def parse_json(model: type[ModelT], body: bytes, content_type: str | None) -> ModelT:
    """Validate ``body`` as ``model`` straight from bytes; anything wrong is a 4xx with details."""
    check_json(content_type)
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise BadRequest("request body does not match the schema", details=error_details(exc)) from exc


class Server:
    """One serving endpoint's live state, held on ``app.state.server``."""

    def __init__(self, settings: Settings, spec: EndpointSpec, open_registry: Callable[[], Registry]) -> None:
        self.settings = settings
        self.spec = spec
        self.metrics = ServerMetrics()
        self.follower = Follower(spec, open_registry, self.metrics)
        self.requests = request_models(spec.limits)
        self._records: tuple[DataSchema, TypeAdapter[Any]] | None = None
        self._feedback: tuple[tuple[str, tuple[str, ...]], type[BaseModel]] | None = None
        self.api_key = settings.api_key.get_secret_value() if settings.api_key else None
        self.webhooks = WebhookVerifier(settings.webhook_secret.get_secret_value() if settings.webhook_secret else None)
        self.log: PredictionLog | None = None
        self._recent: OrderedDict[str, int] = OrderedDict()
        self._background: set[asyncio.Task[Any]] = set()
        self._poller: asyncio.Task[None] | None = None
        self.started_at = time.time()

    # lifecycle -----------------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Open the prediction log and start following the aliases (the first load runs in the background)."""
        log = self.spec.log
        sink = await asyncio.to_thread(
            SqliteSink, self.spec.log_path(self.settings), store_text=log.store_text, features=log.features
        )
        self.log = PredictionLog(
            sink,
            flush_interval_s=self.spec.log.flush_interval_ms / 1000,
            max_pending=self.spec.log.max_pending,
            on_written=self.metrics.log_rows.inc,
            on_error=self.metrics.log_errors.inc,
            on_dropped=self.metrics.log_dropped.inc,
        )
        self._poller = asyncio.get_running_loop().create_task(self.follower.poll_forever())

    async def stop(self) -> None:
        """Stop following, let models answer what they hold, and write the rest of the log."""
        if self._poller is not None:
            self._poller.cancel()
        pending = [task for task in self._background if not task.done()]
        if pending:
            await asyncio.wait(pending, timeout=self.spec.traffic.shadow.timeout_s)
        await self.follower.close()
        if self.log is not None:
            await asyncio.to_thread(self.log.close)

    def spawn(self, coro: Any) -> None:
        """Run ``coro`` in the background, keeping a reference until it ends."""
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def version_header(self) -> str:
        """The champion's version, for responses that no model answered."""
        champion = self.follower.champion
        return champion.version_text if champion else "none"

    # prediction ----------------------------------------------------------------------------------------------
    def request_id(self, header: str | None) -> str:
        """The client's ``X-Request-ID`` if well-formed, else a new one."""
        if header is None:
            return os.urandom(16).hex()
        if not REQUEST_ID.fullmatch(header):
            raise BadRequest("X-Request-ID must be 1-128 letters, digits, '.', '_', ':' or '-'")
        return header

    def records_adapter(self, schema: DataSchema) -> TypeAdapter[Any]:
        """The validator of ``{"inputs": [...]}`` for ``schema`` (built once per schema)."""
        # Identity first: the champion's schema object is the same on every request until a swap, so the hot
        # path compares a pointer, not the whole schema.
        if self._records is None or (self._records[0] is not schema and self._records[0] != schema):
            self._records = (schema, records_model(schema, self.spec.limits)[1])
        return self._records[1]

    def parse_texts(self, body: bytes, content_type: str | None) -> tuple[list[Any], bool]:
        """The inputs of a predict body (texts, or records for a model of several features); single-text form?"""
        check_json(content_type)
        champion = self.follower.champion
        schema = champion.info.schema if champion else None
        if schema is not None and schema.single_text is None:
            try:
                parsed = self.records_adapter(schema).validate_json(body)
            except ValidationError as exc:
                raise BadRequest(
                    "request body does not match the model's inputs",
                    details=error_details(exc),
                    hint='send {"inputs": [{feature: value, ...}, ...]}; GET /openapi.json lists the features',
                ) from exc
            return [record.model_dump(by_alias=True) for record in parsed.inputs], False
        try:
            parsed = self.requests.adapter.validate_json(body)
        except ValidationError as exc:
            if champion is None:  # the body may be right for the model that is still loading
                raise UnavailableError(
                    "no model is loaded yet", hint="wait for /readyz, or promote a champion"
                ) from exc
            raise BadRequest(
                "request body does not match the schema",
                details=error_details(exc),
                hint='send {"text": "..."} or {"texts": ["...", ...]}',
            ) from exc
        if hasattr(parsed, "text"):
            return [parsed.text], True
        return list(parsed.texts), False

    def pick(self, key: str) -> tuple[str, ServedModel]:
        """Which model answers: the canary share by routing key, else the champion."""
        champion, challenger = self.follower.champion, self.follower.challenger
        if champion is None:
            raise UnavailableError("no model is loaded yet", hint="wait for /readyz, or promote a champion")
        canary = self.spec.traffic.canary.percent
        if challenger is not None and canary > 0 and choose_route(key, canary) == "canary":
            return "canary", challenger
        return "champion", champion

    async def predict(
        self, texts: list[str], single: bool, request_id: str, key: str | None, explain_top: int | None = None
    ) -> Answer:
        """Answer ``texts`` within the request timeout, then log the answer and start the shadow.

        With ``explain_top`` the same model also explains each text (its ``top`` contributions each way).
        """
        if explain_top is not None and len(texts) > self.spec.limits.max_explain_texts:
            raise BadRequest(
                f"explain=true takes at most {self.spec.limits.max_explain_texts} texts per request, got {len(texts)}",
                hint="send fewer texts, or raise limits.max_explain_texts in the endpoint spec",
            )
        route, served = self.pick(key or request_id)
        try:
            future = served.batcher.submit(texts)
        except BatcherClosed as exc:
            raise UnavailableError("the model was being swapped; retry") from exc
        try:
            async with asyncio.timeout(self.spec.limits.request_timeout_s):
                scored = await future
        except TimeoutError as exc:
            self.metrics.timeouts.inc()
            raise RequestTimedOut(
                f"no answer within {self.spec.limits.request_timeout_s} s", hint="retry, or send fewer texts"
            ) from exc
        except Exception as exc:
            log.exception("model v%s failed", served.info.version)
            raise ModelFailed(f"model v{served.info.version} failed to answer: {type(exc).__name__}") from exc
        explanations = await self._explain(served, texts, explain_top) if explain_top is not None else None
        answer = Answer(request_id, route, served, scored, single, explanations)
        self._record(answer, texts)
        if route == "champion" and self.spec.traffic.shadow.enabled:
            self._shadow(texts, request_id)
        return answer

    async def _explain(self, served: ServedModel, texts: list[str], top: int) -> list[Explanation]:
        try:
            async with asyncio.timeout(self.spec.limits.request_timeout_s):
                return await asyncio.to_thread(served.model.explain, texts, top)
        except TimeoutError as exc:
            self.metrics.timeouts.inc()
            raise RequestTimedOut(f"no explanation within {self.spec.limits.request_timeout_s} s") from exc
        except Exception as exc:
            log.exception("model v%s failed to explain", served.info.version)
            raise ModelFailed(f"model v{served.info.version} failed to explain: {type(exc).__name__}") from exc

    def _rows(
        self, request_id: str, route: str, served: ServedModel, texts: list[str], scored: Scored
    ) -> list[PredictionRow]:
        now = time.time()
        labels, scores = scored.labels.tolist(), scored.scores.tolist()  # regression: the prediction, as both
        return [
            PredictionRow(
                request_id, item, now, served.info.name, served.info.version, route, score, label,
                text if isinstance(text, str) else "", None if isinstance(text, str) else canonical_json(text),
            )
            for item, (text, label, score) in enumerate(zip(texts, labels, scores, strict=True))
        ]  # fmt: skip

    def _record(self, answer: Answer, texts: list[str]) -> None:
        self.metrics.predictions.labels(answer.route, answer.served.version_text).inc(len(texts))
        self._recent[answer.request_id] = len(texts)
        if len(self._recent) > RECENT_REQUESTS:
            self._recent.popitem(last=False)
        if self.log is not None:
            self.log.add(self._rows(answer.request_id, answer.route, answer.served, texts, answer.scored))

    def _shadow(self, texts: list[str], request_id: str) -> None:
        challenger = self.follower.challenger
        if challenger is None:
            return
        if challenger.batcher.pending >= self.spec.traffic.shadow.max_pending:
            self.metrics.shadow.labels("dropped").inc()
            return
        try:
            future = challenger.batcher.submit(texts)
        except BatcherClosed:
            return
        self.spawn(self._finish_shadow(future, challenger, texts, request_id))

    async def _finish_shadow(
        self, future: asyncio.Future[Scored], served: ServedModel, texts: list[str], rid: str
    ) -> None:
        try:
            async with asyncio.timeout(self.spec.traffic.shadow.timeout_s):
                scored = await future
        except TimeoutError:
            self.metrics.shadow.labels("timeout").inc()
            return
        except Exception:  # a failing shadow is counted, never seen by the client
            self.metrics.shadow.labels("error").inc()
            return
        self.metrics.shadow.labels("ok").inc()
        if self.log is not None:
            self.log.add(self._rows(rid, "shadow", served, texts, scored))

    # feedback ------------------------------------------------------------------------------------------------
    def feedback_body(self) -> tuple[type[BaseModel], ModelInfo | None]:
        """The ``/feedback`` model for the champion's task (see :func:`~trunkml.serving.schemas.feedback_model`)."""
        champion = self.follower.champion
        info = champion.info if champion else None
        key = (info.task, info.class_list) if info else ("binary", ())
        if self._feedback is None or self._feedback[0] != key:
            self._feedback = (key, feedback_model(*key))
        return self._feedback[1], info

    async def feedback(self, body: bytes, content_type: str | None) -> StoredFeedback:
        """Store the true label (or value) of an earlier served prediction (404 if the server never answered it)."""
        model, info = self.feedback_body()
        given: Any = parse_json(model, body, content_type)
        items = self._recent.get(given.request_id)
        if items is None:
            if self.log is None or not await asyncio.to_thread(
                self.log.sink.has_prediction, given.request_id, given.item
            ):
                raise NotFoundError(f"no prediction with request id '{given.request_id}' was served here")
        elif given.item >= items:
            raise NotFoundError(f"request '{given.request_id}' had {items} text(s); item {given.item} does not exist")
        if self.log is None:
            raise UnavailableError("the prediction log is not open yet")
        stored = StoredFeedback.of(given, info)
        try:
            await asyncio.to_thread(self.log.sink.record_feedback, given.request_id, given.item, stored.truth)
        except Exception as exc:
            self.metrics.log_errors.inc()
            raise UnavailableError(f"feedback could not be stored: {type(exc).__name__}", hint="retry later") from exc
        return stored


@dataclass(frozen=True)
class StoredFeedback:
    """Feedback as given and as stored (a class index, or the true value)."""

    request_id: str
    item: int
    label: int | str | None
    value: float | None
    truth: float

    @classmethod
    def of(cls, given: Any, info: ModelInfo | None) -> StoredFeedback:
        """The stored truth of a parsed feedback body for the served model ``info``."""
        if hasattr(given, "value"):
            return cls(given.request_id, given.item, None, float(given.value), float(given.value))
        label = given.label
        if info is not None and info.task == "multiclass" and info.class_list:
            name = label if isinstance(label, str) else whole_number_names(info.class_list)[int(label)]
            return cls(given.request_id, given.item, name, None, info.class_list.index(name))
        return cls(given.request_id, given.item, int(label), None, int(label))
