"""HTTP routes: thin handlers that parse, call the :class:`~trunkml.serving.server.Server`, and render."""

from __future__ import annotations

import dataclasses
import json
import os
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Security
from fastapi.responses import HTMLResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from trunkml.errors import BadRequest
from trunkml.registry.explain import DEFAULT_TOP_K
from trunkml.serving.auth import require_key
from trunkml.serving.page import status_page
from trunkml.serving.schemas import (
    REQUEST_ID_PATTERN,
    BatchClassResponse,
    BatchPredictResponse,
    BatchValueResponse,
    ErrorBody,
    FeedbackStored,
    SingleClassResponse,
    SinglePredictResponse,
    SingleValueResponse,
    WebhookPayload,
)
from trunkml.serving.served_model import ServedModel
from trunkml.serving.server import Server, parse_json

router = APIRouter()
bearer = HTTPBearer(auto_error=False, description="TRUNKML_API_KEY as a bearer token")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]
MAX_TOP = 50
ALIAS_EVENTS = {("model_version_alias", "created"), ("model_version_alias", "deleted")}


async def get_server(request: Request) -> Server:
    """The endpoint's live state (async: a plain function would be sent to a thread pool on every request)."""
    server: Server = request.app.state.server
    return server


ServerDep = Annotated[Server, Depends(get_server)]


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorBody} for code in codes}


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(payload), status_code=status, media_type="application/json", headers=headers)


def _schema(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error_refs(*codes: int) -> dict[str, Any]:
    body = {"content": {"application/json": {"schema": _schema("ErrorBody")}}}
    return {str(code): {"description": HTTPStatus(code).phrase, **body} for code in codes}


PREDICT_OPERATION: dict[str, Any] = {
    "summary": "Predict a label for one text or a batch of texts",
    "description": "Answer with a label and score per text, the model version that answered, and the request id.",
    "operationId": "predict",
    "security": [{}, {"HTTPBearer": []}],
    "parameters": [
        {
            "name": "x-request-id",
            "in": "header",
            "required": False,
            "description": "Your id for this request (echoed, and the key for /feedback)",
            "schema": {"type": "string", "pattern": REQUEST_ID_PATTERN},
        },
        {
            "name": "explain",
            "in": "query",
            "required": False,
            "description": "Also explain each text (the model's top contributions toward and against label 1)",
            "schema": {"type": "string", "enum": ["true", "false", "1", "0"]},
        },
        {
            "name": "top",
            "in": "query",
            "required": False,
            "description": "With explain=true: contributions shown each way (default 8)",
            "schema": {"type": "string", "pattern": "^[0-9]{1,2}$"},
        },
        {
            "name": "x-routing-key",
            "in": "header",
            "required": False,
            "description": "Sticky canary key, e.g. a user id (default: the request id)",
            "schema": {"type": "string", "maxLength": 256},
        },
    ],
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"anyOf": [_schema("PredictText"), _schema("PredictTexts")]}}},
    },
    "responses": {
        "200": {
            "description": "Predictions",
            "content": {
                "application/json": {
                    "schema": {"anyOf": [_schema("SinglePredictResponse"), _schema("BatchPredictResponse")]}
                }
            },
        },
        **_error_refs(401, 403, 413, 415, 422, 500, 503, 504),
    },
}


TASK_RESPONSES = {
    "binary": ("SinglePredictResponse", "BatchPredictResponse"),
    "multiclass": ("SingleClassResponse", "BatchClassResponse"),
    "regression": ("SingleValueResponse", "BatchValueResponse"),
}


def predict_operation(
    classes: tuple[str, str], records: bool = False, task: str = "binary", class_list: tuple[str, ...] = ()
) -> dict[str, Any]:
    """:data:`PREDICT_OPERATION` for the served model: its task's answer, class names, and record body."""
    if task == "multiclass":
        names = f"label is one of {', '.join(class_list)}; probabilities gives every class's probability by name."
    elif task == "regression":
        names = "prediction is the model's value, with an interval when the model answers quantiles."
    else:
        names = f"label 0 = {classes[0]}, label 1 = {classes[1]}; the score is the model's probability of label 1."
    operation = {**PREDICT_OPERATION, "description": f"{PREDICT_OPERATION['description']} {names}"}
    single, batch = TASK_RESPONSES.get(task, TASK_RESPONSES["binary"])
    answers: dict[str, Any] = {"anyOf": [_schema(single), _schema(batch)]}
    if records:
        operation["summary"] = "Predict for each record of the model's features"
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _schema("PredictRecords")}},
        }
        answers = _schema(batch)
    operation["responses"] = {
        **PREDICT_OPERATION["responses"],
        "200": {"description": "Predictions", "content": {"application/json": {"schema": answers}}},
    }
    return operation


PREDICT_MODELS = (
    SinglePredictResponse,
    BatchPredictResponse,
    SingleClassResponse,
    BatchClassResponse,
    SingleValueResponse,
    BatchValueResponse,
    ErrorBody,
)


def _explain_top(explain: str | None, top: str | None) -> int | None:
    """``?explain=true[&top=K]`` → K (default 8); no explanation → None. Anything else is a 422."""
    if explain is None or explain.lower() in {"false", "0"}:
        if top is not None:
            raise BadRequest("top is only meaningful with explain=true")
        return None
    if explain.lower() not in {"true", "1"}:
        raise BadRequest(f"explain must be true or false, got {explain[:20]!r}")
    if top is None:
        return DEFAULT_TOP_K
    if not top.isdigit() or not 1 <= int(top) <= MAX_TOP:
        raise BadRequest(f"top must be a whole number from 1 to {MAX_TOP}, got {top[:20]!r}")
    return int(top)


async def predict(request: Request) -> Response:
    """``POST /predict``, a plain Starlette route: it is the hot path, so it skips dependency injection.

    Its OpenAPI operation is :data:`PREDICT_OPERATION`.
    """
    server: Server = request.app.state.server
    headers = request.headers
    if server.spec.auth.protect_predict:
        require_key(request, server.api_key, "predict")
    request_id = server.request_id(headers.get("x-request-id"))
    routing_key = headers.get("x-routing-key")
    if routing_key is not None and len(routing_key) > 256:
        raise BadRequest("X-Routing-Key is longer than 256 characters")
    explain_top = _explain_top(request.query_params.get("explain"), request.query_params.get("top"))
    texts, single = server.parse_texts(await request.body(), headers.get("content-type"))
    answer = await server.predict(texts, single, request_id, routing_key, explain_top)
    return Response(
        answer.body(),
        media_type="application/json",
        headers={"x-model-version": answer.served.version_text, "x-request-id": request_id, "x-route": answer.route},
    )


@router.post(
    "/feedback",
    status_code=201,
    response_model=FeedbackStored,
    responses=_errors(401, 403, 404, 413, 415, 422, 503),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Feedback"}}},
        }
    },
    summary="Record the true label (or value, for regression) of an earlier prediction",
)
async def feedback(request: Request, server: ServerDep, _credentials: Credentials) -> Response:
    """Store the true label for a served request id (and item, for batch requests)."""
    if server.spec.auth.protect_predict:
        require_key(request, server.api_key, "feedback")
    stored = await server.feedback(await request.body(), request.headers.get("content-type"))
    told = {"label": stored.label} if stored.value is None else {"value": stored.value}
    return _json({"request_id": stored.request_id, "item": stored.item, **told}, status=201)


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    """Always 200 while the process runs."""
    return {"status": "ok"}


@router.get("/readyz", responses=_errors(503), summary="A model is loaded and serving")
async def readyz(server: ServerDep) -> Response:
    """200 once a champion is loaded; 503 before."""
    champion = server.follower.champion
    if champion is None or not champion.model.alive:
        body = {"error": "NotReady", "message": "no model is loaded yet", "hint": server.follower.last_error}
        return _json(body, status=503)
    return _json({"status": "ready", "version": champion.info.version})


def _describe(served: ServedModel | None) -> dict[str, Any] | None:
    return None if served is None else dataclasses.asdict(served.info)


@router.get("/model", summary="What is serving: versions, lineage, digests and the traffic split")
async def model(server: ServerDep) -> dict[str, Any]:
    """The champion, the challenger (canary/shadow), the traffic split and recent refusals, as this worker sees them."""
    follower = server.follower
    return {
        "model": server.spec.model,
        "worker": os.getpid(),
        "champion": _describe(follower.champion),
        "challenger": _describe(follower.challenger),
        "traffic": server.spec.traffic.model_dump(),
        "refused": [dataclasses.asdict(refusal) for refusal in follower.refusals],
        "last_error": follower.last_error,
    }


@router.get("/metrics", response_class=Response, summary="Prometheus metrics")
async def metrics(server: ServerDep) -> Response:
    """Request counts by version and status, latencies, batch sizes, swaps and failures."""
    return Response(server.metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")


@router.get("/", response_class=HTMLResponse, summary="Status page")
async def index(server: ServerDep) -> HTMLResponse:
    """A small HTML page: who serves, the traffic split, recent traffic and latency."""
    return HTMLResponse(status_page(server))


@router.post("/admin/reload", responses=_errors(401, 403, 503), summary="Check the aliases now")
async def reload(request: Request, server: ServerDep, _credentials: Credentials) -> Response:
    """Follow the aliases now (retrying refused candidates); needs TRUNKML_API_KEY."""
    require_key(request, server.api_key, "admin reload")
    refused = await server.follower.refresh(retry_refused=True)
    follower = server.follower
    body = {
        "champion": follower.champion.info.version if follower.champion else None,
        "challenger": follower.challenger.info.version if follower.challenger else None,
        "refused": [dataclasses.asdict(refusal) for refusal in refused],
        "error": follower.last_error,
    }
    return _json(body, status=503 if follower.last_error else 200)


@router.post(
    "/webhooks/mlflow",
    status_code=202,
    responses=_errors(401, 403, 413, 415, 422),
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}},
    summary="MLflow registry webhook (HMAC-signed)",
)
async def mlflow_webhook(request: Request, server: ServerDep) -> Response:
    """Reload when an alias of this endpoint's model moves; needs TRUNKML_WEBHOOK_SECRET."""
    body = await request.body()
    server.webhooks.verify(request, body)
    event = parse_json(WebhookPayload, body, request.headers.get("content-type"))
    ours = (event.entity, event.action) in ALIAS_EVENTS and event.data.get("name") == server.spec.model
    if ours:
        server.spawn(server.follower.refresh())
    return _json({"accepted": ours}, status=202)
