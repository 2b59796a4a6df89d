"""The app factory and the process that runs it.

``create_app(settings)`` builds a FastAPI app whose lifespan opens the
prediction log and starts following the endpoint's aliases; ``serve`` runs it
under uvicorn (uvloop and httptools where available) with graceful shutdown:
on SIGTERM the server stops accepting, answers what is in flight, retires the
models and writes the rest of the prediction log.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from trunkml import __version__
from trunkml.config import Settings
from trunkml.config.classes import DEFAULT_CLASS_NAMES
from trunkml.errors import ConfigError, TrunkmlError
from trunkml.registry import Registry
from trunkml.registry.connection import refuse_default_password
from trunkml.serving.middleware import ServingMiddleware
from trunkml.serving.routes import PREDICT_MODELS, predict, predict_operation, router
from trunkml.serving.schemas import records_model
from trunkml.serving.server import Server
from trunkml.serving.spec import EndpointSpec, load_endpoint

GRACE_S = 5.0


def _error_response(exc: TrunkmlError) -> JSONResponse:
    body: dict[str, Any] = {"error": type(exc).__name__, "message": exc.message, "hint": exc.hint}
    details = getattr(exc, "details", None)
    if details:
        body["details"] = details
    headers = {"www-authenticate": "Bearer"} if exc.http_status == 401 else None
    return JSONResponse(body, status_code=exc.http_status, headers=headers)


async def _on_trunkml_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TrunkmlError)
    return _error_response(exc)


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
    body = {"error": "BadRequest", "message": "request does not match the schema", "hint": None, "details": details}
    return JSONResponse(body, status_code=422)


def _openapi(app: FastAPI, server: Server) -> Callable[[], dict[str, Any]]:
    """The generated schema plus the request models the raw-body routes validate against.

    The /predict description names the champion's classes (from its training pointer); the schema is built
    again when a swap brings other names.
    """

    built_for: tuple[Any, ...] | None = None

    def build() -> dict[str, Any]:
        nonlocal built_for
        champion = server.follower.champion
        classes = champion.info.classes if champion else DEFAULT_CLASS_NAMES
        inputs = champion.info.schema if champion else None
        records = inputs if inputs is not None and inputs.single_text is None else None
        task = champion.info.task if champion else "binary"
        class_list = champion.info.class_list if champion else ()
        key = (classes, records.model_dump_json() if records else None, task, class_list)
        if app.openapi_schema and built_for == key:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        schema["paths"]["/predict"] = {
            "post": predict_operation(classes, records=records is not None, task=task, class_list=class_list)
        }
        bodies: tuple[type[BaseModel], ...] = (server.requests.single, server.requests.batch)
        if records is not None:
            bodies = (records_model(records, server.spec.limits)[0],)
        shown: list[type[BaseModel]] = [*bodies, server.feedback_body()[0], *PREDICT_MODELS]
        for model in shown:
            found = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(found.pop("$defs", {}))
            components[model.__name__] = found
        app.openapi_schema, built_for = schema, key
        return schema

    return build


MIN_KEY_LENGTH = 16


def create_app(
    settings: Settings, spec: EndpointSpec | None = None, *, registry: Callable[[], Registry] | None = None
) -> FastAPI:
    """Build the serving app for ``spec`` (default: the endpoint spec the settings point at)."""
    spec = spec or load_endpoint(settings)
    if spec.auth.protect_predict and settings.api_key is None:
        raise ConfigError(
            "the endpoint protects /predict but TRUNKML_API_KEY is not set", hint="set it, or turn protect_predict off"
        )
    if settings.api_key is not None and len(settings.api_key.get_secret_value().strip()) < MIN_KEY_LENGTH:
        raise ConfigError(
            f"TRUNKML_API_KEY is set but {'empty' if not settings.api_key.get_secret_value().strip() else 'too short'}"
            f" (at least {MIN_KEY_LENGTH} characters): a guessable key would open the admin routes",
            hint='generate one: python -c "import secrets; print(secrets.token_urlsafe(32))"',
        )
    refuse_default_password(settings)  # at start-up, not at the first poll of the registry
    server = Server(settings, spec, registry or (lambda: Registry(settings)))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await server.start()
        try:
            yield
        finally:
            await server.stop()

    app = FastAPI(
        title=f"trunkml · {spec.model}",
        version=__version__,
        description="Serves the model version that the registry alias names, with canary, shadow and a prediction log.",
        lifespan=lifespan,
        max_body_size=spec.limits.max_body_bytes,
    )
    app.state.server = server
    app.add_route("/predict", predict, methods=["POST"], include_in_schema=False)
    app.include_router(router)
    app.add_exception_handler(TrunkmlError, _on_trunkml_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_middleware(
        ServingMiddleware,
        metrics=server.metrics,
        version=server.version_header,
        fast={("POST", "/predict"): predict},
        on_error=_error_response,
    )
    app.openapi = _openapi(app, server)  # type: ignore[method-assign]
    return app


def app_from_environment() -> FastAPI:
    """Factory for worker processes: settings and the endpoint spec come from the environment."""
    return create_app(Settings())


def serve(settings: Settings, endpoint: Path | None, host: str, port: int, workers: int, access_log: bool) -> None:
    """Run the server until SIGINT/SIGTERM (blocking)."""
    import uvicorn

    from trunkml.config.settings import export_for_workers

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    spec = load_endpoint(settings, endpoint)  # fail fast on a bad spec, before any worker starts
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "access_log": access_log,
        "timeout_graceful_shutdown": int(spec.limits.request_timeout_s + GRACE_S),
        "log_level": "info",
    }
    if workers > 1:
        chosen = settings.model_copy(update={"endpoint": endpoint or settings.endpoint})
        export_for_workers(chosen)
        uvicorn.run("trunkml.serving.app:app_from_environment", factory=True, workers=workers, **options)
    else:
        uvicorn.run(create_app(settings, spec), **options)
