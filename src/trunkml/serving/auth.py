"""Who may call what: the API key for admin (and optionally predict) routes, and signed registry webhooks.

Keys and signatures are compared in constant time. Webhooks follow MLflow's
scheme: ``X-MLflow-Signature: v1,<base64 HMAC-SHA256>`` over
``<delivery id>.<timestamp>.<body>``, with the timestamp checked against replay.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections import OrderedDict

from fastapi import Request

from trunkml.errors import Forbidden, Unauthorized

MAX_WEBHOOK_AGE_S = 300
SEEN_DELIVERIES = 10_000


def presented_key(request: Request) -> str | None:
    """The key a client sent: ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    return request.headers.get("x-api-key")


def require_key(request: Request, expected: str | None, what: str) -> None:
    """Refuse the request unless it carries ``expected`` (403 when no key is configured at all)."""
    if expected is None:
        raise Forbidden(f"{what} is disabled on this server", hint="set TRUNKML_API_KEY to enable it")
    given = presented_key(request)
    if given is None or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized(f"{what} needs a valid API key", hint="send 'Authorization: Bearer <TRUNKML_API_KEY>'")


def mlflow_signature(secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    """The signature MLflow puts on a webhook delivery."""
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


class WebhookVerifier:
    """Checks MLflow webhook signatures, freshness and replays."""

    def __init__(self, secret: str | None) -> None:
        self.secret = secret
        self._seen: OrderedDict[str, float] = OrderedDict()

    def verify(self, request: Request, body: bytes) -> None:
        """Raise unless ``body`` was signed with the secret, recently, and not delivered before."""
        if self.secret is None:
            raise Forbidden("registry webhooks are disabled on this server", hint="set TRUNKML_WEBHOOK_SECRET")
        delivery = request.headers.get("x-mlflow-delivery-id", "")
        stamp = request.headers.get("x-mlflow-timestamp", "")
        given = request.headers.get("x-mlflow-signature", "")
        if not delivery or not stamp.isdigit() or not given:
            raise Unauthorized("webhook delivery is not signed", hint="configure the webhook with the server's secret")
        expected = mlflow_signature(self.secret, delivery, stamp, body)
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise Unauthorized(
                "webhook signature does not match", hint="the webhook's secret differs from the server's"
            )
        if abs(time.time() - int(stamp)) > MAX_WEBHOOK_AGE_S:
            raise Unauthorized("webhook delivery is too old or from the future", hint="check the clocks")
        if delivery in self._seen:
            raise Unauthorized("webhook delivery was already received (replay)")
        self._seen[delivery] = time.time()
        while len(self._seen) > SEEN_DELIVERIES:
            self._seen.popitem(last=False)
