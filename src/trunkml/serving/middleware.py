"""The outer layer every request passes: metrics, the status page's samples, and the X-Model-Version header.

Written as plain ASGI (no per-request task or response buffering), because it
sits on the hot path of every prediction.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trunkml.errors import TrunkmlError
from trunkml.serving.telemetry import ServerMetrics

VERSION_HEADER = b"x-model-version"
ROUTE_HEADER = b"x-route"
KNOWN_PATHS = frozenset({"/", "/predict", "/feedback", "/healthz", "/readyz", "/metrics", "/model", "/admin/reload"})


Handler = Callable[[Request], Awaitable[Response]]


class ServingMiddleware:
    """Counts every answer and names the model version on it (body limits are FastAPI's ``max_body_size``).

    ``fast`` routes (``POST /predict``) are answered right here, below the body limit but above the router:
    they skip routing, dependency and exception-middleware layers that would cost every prediction a
    third of its CPU time. Their errors are rendered by ``on_error``, as the app's handler would.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: ServerMetrics,
        version: Callable[[], str],
        fast: dict[tuple[str, str], Handler] | None = None,
        on_error: Callable[[TrunkmlError], Response] | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.version = version
        self.fast = fast or {}
        self.on_error = on_error

    async def _direct(self, handler: Handler, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            response = await handler(Request(scope, receive))
        except ClientDisconnect:  # nobody is left to answer
            return
        except HTTPException as exc:  # the body limit (413) speaks Starlette's language: answer in ours
            response = JSONResponse(
                {"error": "HTTPError", "message": str(exc.detail), "hint": None}, status_code=exc.status_code
            )
        except TrunkmlError as exc:
            if self.on_error is None:
                raise
            response = self.on_error(exc)
        await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        path = scope["path"] if scope["path"] in KNOWN_PATHS else "other"
        state: dict[str, Any] = {"status": 500, "version": "", "route": "unrouted"}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                headers = list(message.get("headers", []))
                found = next((value for key, value in headers if key == VERSION_HEADER), None)
                if found is None:
                    found = self.version().encode()
                    headers.append((VERSION_HEADER, found))
                    message = {**message, "headers": headers}
                state["version"] = found.decode()
                state["route"] = next((value.decode() for key, value in headers if key == ROUTE_HEADER), "unrouted")
            await send(message)

        handler = self.fast.get((scope["method"], scope["path"]))
        try:
            if handler is None:
                await self.app(scope, receive, send_wrapper)
            else:
                await self._direct(handler, scope, receive, send_wrapper)
        finally:
            self._count(path, state, time.perf_counter() - start)

    def _count(self, path: str, state: dict[str, Any], seconds: float) -> None:
        """Count one answered request (unanswered ones count as status 500)."""
        self.metrics.requests.labels(path, state["version"], str(state["status"])).inc()
        self.metrics.latency.labels(path).observe(seconds)
        if path == "/predict":
            self.metrics.sample(state["route"], state["version"], state["status"], seconds)
