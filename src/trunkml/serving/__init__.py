"""Serving: the FastAPI app that follows the champion alias, with micro-batching, canary, shadow and a log."""

from trunkml.serving.app import create_app, serve
from trunkml.serving.spec import EndpointSpec, load_endpoint

__all__ = ["EndpointSpec", "create_app", "load_endpoint", "serve"]
