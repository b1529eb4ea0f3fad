"""Where the application is mounted: the ASGI ``root_path``.

A web framework that mounts the application under a prefix (Starlette's and
FastAPI's ``Mount``, a proxy serving it at ``/orders``) says so in the scope's
``root_path``. Under ASGI the ``path`` then still holds the whole path, prefix
included (servers and frameworks before that was settled stripped it), so the
path the application routes is the part after the prefix. Responses that name
the application's own URLs (the OpenAPI document's ``servers``) read the prefix
of the request being answered.
"""

from __future__ import annotations

import contextvars
import urllib.parse
from collections.abc import Mapping
from typing import Any

__all__ = ["inside_mount", "mounted_at", "root_path_var"]

root_path_var: contextvars.ContextVar[str] = contextvars.ContextVar(
    "eventual_root_path", default=""
)


def mounted_at() -> str:
    """Return the prefix the request being answered came through ("" at the root)."""
    return root_path_var.get()


def inside_mount(scope: Mapping[str, Any]) -> tuple[str, str, bytes | None]:
    """Return the scope's root path, its path inside the mount and its raw path inside it.

    The raw path is None when the server sent none, or when it does not start with
    the prefix as written in the root path (routing then uses the decoded path).
    """
    root = str(scope.get("root_path") or "").rstrip("/")
    path = str(scope["path"])
    raw: bytes | None = scope.get("raw_path") or None
    if not root:
        return "", path, raw
    if path == root or path.startswith(root + "/"):
        path = path[len(root) :] or "/"
    if raw is not None:
        for written in {root.encode("utf-8"), urllib.parse.quote(root).encode("ascii")}:
            if raw == written or raw.startswith(written + b"/"):
                raw = raw[len(written) :] or b"/"
                break
        else:
            raw = raw if _is_inside(raw, path) else None
    return root, path, raw


def _is_inside(raw: bytes, path: str) -> bool:
    # A server of the older convention strips the prefix from both paths: the
    # raw path then decodes to the path the application routes.
    return urllib.parse.unquote_to_bytes(raw).decode("utf-8", "replace") == path
