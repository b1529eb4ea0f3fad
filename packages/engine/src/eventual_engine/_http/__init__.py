"""Serving a service over HTTP: an ASGI application independent of any server."""

from ._app import HttpApp as HttpApp
from ._options import HttpOptions as HttpOptions

__all__ = ["HttpApp", "HttpOptions"]
