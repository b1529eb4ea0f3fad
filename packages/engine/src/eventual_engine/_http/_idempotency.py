"""``Idempotency-Key``: a retried command or start gets the first answer and runs nothing again.

The convention is Stripe's (and the IETF httpapi draft's): the client sends a
key of its choosing with a request it may have to retry; the server keeps the
first answer under that key for a retention window and gives it to every retry
(marked ``idempotent-replayed: true``), so a request retried after a dropped
connection never runs a command, or starts an execution, twice. The same key
with another request (another path, query or body) is the client's mistake and
gets 422; a retry that arrives while the first request is still being answered
gets 409 with ``Retry-After``, as in the draft.

Every answer is kept, errors included (a 400 or a handler's 500 would only be
given again), because the server cannot tell whether a failed handler did part
of its work. What is kept is the backend's (``eventual.spi.IdempotencyStore``),
so keys hold across processes, restarts and Lambda instances alike.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta

from eventual import HttpRequest, HttpResponse
from eventual.codec import JsonValue
from eventual.spi import Backend, Client, KeptAnswer

from ._options import HttpOptions
from ._responses import REQUEST_ID_HEADER, ApiError

__all__ = ["IDEMPOTENCY_HEADER", "REPLAYED_HEADER", "Idempotency", "check_key"]

IDEMPOTENCY_HEADER = "idempotency-key"
REPLAYED_HEADER = "idempotent-replayed"
MAX_KEY_LENGTH = 255
MAX_KEPT_BODY = 256 * 1024
"""Larger answers are not kept whole (a DynamoDB item holds 400 KB); see ``_kept``."""

Run = Callable[[], Awaitable[HttpResponse]]
Failure = Callable[[Exception, HttpRequest], HttpResponse]


def check_key(key: str) -> None:
    """Refuse a key that is empty, too long or not printable ASCII (400, naming the header).

    Raises:
        ApiError: 400 naming ``header.idempotency-key``.
    """
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not all(" " < c <= "~" for c in key):
        raise ApiError(
            400,
            f"the Idempotency-Key header must be 1 to {MAX_KEY_LENGTH} printable ASCII "
            "characters without spaces (a UUID or ULID is a good key)",
            {"field": "header.idempotency-key"},
        )


class Idempotency:
    """Answers requests that carry an ``Idempotency-Key`` once, and gives retries the answer.

    Args:
        client: Returns the client of the request (its clock and its backend).
        options: ``idempotency_retention`` and ``idempotency_hold``.
        failure: Turns an exception the handler raised into the response the
            client gets (the same as without a key), so that it is kept too.
    """

    def __init__(
        self, client: Callable[[], Client], options: HttpOptions, failure: Failure
    ) -> None:
        self._client = client
        self._options = options
        self._failure = failure

    async def answer(self, request: HttpRequest, run: Run) -> HttpResponse:
        """Answer ``request`` by ``run``, or give the answer kept for its key.

        Without the header, this is ``await run()``.
        """
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            return await run()
        check_key(key)
        client = self._client()
        backend: Backend | None = getattr(client, "backend", None)
        if backend is None:
            raise ApiError(501, "this server keeps no Idempotency-Key answers (it has no backend)")
        store = backend.idempotency
        fingerprint = _fingerprint(request)
        now = client.now()
        taking = KeptAnswer(
            key=key,
            fingerprint=fingerprint,
            expires_at=now + self._options.idempotency_retention,
            held_until=now + self._options.idempotency_hold,
        )
        existing = await store.take(taking, now)
        if existing is not None:
            return _given_again(existing, fingerprint, self._options.idempotency_retention)
        try:
            response = await run()
        except Exception as exc:
            response = self._failure(exc, request)
        kept = KeptAnswer(
            key=key,
            fingerprint=fingerprint,
            answer=_kept(response),
            expires_at=taking.expires_at,
            held_until=taking.held_until,
        )
        await store.keep(kept)
        return response


def _fingerprint(request: HttpRequest) -> str:
    """Digest the request: method, path, query and body (JSON compared by value)."""
    body = request.body
    # Not JSON: compared byte for byte.
    with contextlib.suppress(ValueError, UnicodeDecodeError, RecursionError):
        body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256()
    for part in (request.method.upper(), request.path, json.dumps(sorted(request.query.items()))):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
    digest.update(body)
    return digest.hexdigest()


def _kept(response: HttpResponse) -> JsonValue:
    body = response.body_bytes()
    headers: dict[str, JsonValue] = {
        name.lower(): value
        for name, value in (response.headers or {}).items()
        if name.lower() != REQUEST_ID_HEADER
    }
    if len(body) > MAX_KEPT_BODY:
        return {"status": response.status, "headers": headers, "too_large": len(body)}
    return {
        "status": response.status,
        "headers": headers,
        "body": base64.b64encode(body).decode("ascii"),
    }


def _given_again(existing: KeptAnswer, fingerprint: str, retention: timedelta) -> HttpResponse:
    key = existing.key
    if existing.fingerprint != fingerprint:
        raise ApiError(
            422,
            f"the Idempotency-Key {key!r} was used for another request (another path, query "
            f"or body) in the last {_span(retention)}; send a new key with a new request",
            {"field": "header.idempotency-key"},
        )
    answer = existing.answer
    if not isinstance(answer, dict):
        raise ApiError(
            409,
            f"the first request with Idempotency-Key {key!r} is still being answered; "
            "retry in a moment",
            {"field": "header.idempotency-key"},
            {"retry-after": "1"},
        )
    status = int(answer["status"])  # type: ignore[arg-type]  # written by _kept above
    if "too_large" in answer:
        raise ApiError(
            409,
            f"the first request with Idempotency-Key {key!r} was answered with status {status}, "
            f"but its answer ({answer['too_large']} bytes) was too large to keep; it was not "
            "run again",
            {"field": "header.idempotency-key", "status": status},
        )
    raw = answer.get("headers")
    headers = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    headers[REPLAYED_HEADER] = "true"
    body = base64.b64decode(str(answer["body"]))
    return HttpResponse(body, status, headers)


def _span(retention: timedelta) -> str:
    hours = retention.total_seconds() / 3600
    return f"{hours:g} hours" if hours >= 1 else f"{retention.total_seconds():g} seconds"
