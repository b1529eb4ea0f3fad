"""``UiApp``: an ASGI wrapper that serves the UI's files and passes the rest on.

The page holds no data (it reads everything from the system API with the
user's token), so its files are served without a token; the API calls it makes
are checked by the application behind, as any client's are.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from importlib import resources
from typing import Any, Final

__all__ = ["UI_PATH", "UiApp"]

UI_PATH: Final = "/_eventual/ui"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]

_FILES: Final = {
    "": ("index.html", "text/html; charset=utf-8"),
    "index.html": ("index.html", "text/html; charset=utf-8"),
    "app.js": ("app.js", "text/javascript; charset=utf-8"),
    "style.css": ("style.css", "text/css; charset=utf-8"),
}
# Only this origin's script, styles and API; no inline script, no framing.
_SECURITY: Final = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        b"img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-cache"),
]


def _read(name: str) -> bytes:
    return resources.files(__package__ or __name__).joinpath("static", name).read_bytes()


class UiApp:
    """Serves the UI under ``/_eventual/ui/`` in front of another ASGI application.

    Mounted under a prefix (the scope's ``root_path``, as Starlette's ``Mount``
    sets it), the UI is at ``{prefix}/_eventual/ui/`` and calls the system API
    under the same prefix.

    Example:
        app.mount("/orders", UiApp(HttpApp(runtime)))   # FastAPI or Starlette

    Args:
        app: The application for every other path (the service's ``HttpApp``).
    """

    def __init__(self, app: Asgi) -> None:
        self.app = app
        self._files = {path: (_read(name), kind) for path, (name, kind) in _FILES.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer UI paths; pass every other request and scope on."""
        root = str(scope.get("root_path") or "").rstrip("/")
        path = str(scope.get("path", ""))
        if root and (path == root or path.startswith(root + "/")):
            path = path[len(root) :]
        if scope["type"] != "http" or not (path == UI_PATH or path.startswith(UI_PATH + "/")):
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            allow = [(b"allow", b"GET, HEAD")]
            await _respond(send, 405, b"method not allowed\n", "text/plain", allow)
        elif path == UI_PATH:
            # Relative links in the page resolve against the folder.
            location = f"{root}{UI_PATH}/".encode()
            await _respond(send, 308, b"", "text/plain", [(b"location", location)])
        else:
            found = self._files.get(path[len(UI_PATH) + 1 :])
            if found is None:
                await _respond(send, 404, b"no such file in the eventual UI\n", "text/plain")
            else:
                body, kind = found
                sent = b"" if scope["method"] == "HEAD" else body
                await _respond(send, 200, sent, kind, length=len(body))


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    kind: str,
    extra: list[tuple[bytes, bytes]] | None = None,
    *,
    length: int | None = None,
) -> None:
    headers = [
        (b"content-type", kind.encode("latin-1")),
        (b"content-length", str(len(body) if length is None else length).encode("latin-1")),
        *_SECURITY,
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
