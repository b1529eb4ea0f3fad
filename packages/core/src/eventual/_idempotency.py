"""The store behind ``Idempotency-Key``: the first answer to a request, kept for a while.

A client that retries a request after a dropped connection cannot know whether
the first one ran. With an ``Idempotency-Key`` header (the convention of Stripe's
API, of Restate, and of the IETF's draft ``Idempotency-Key`` header), the server
keeps the first request's answer under that key and gives it again to every
retry, so a command runs once however often it is sent. The HTTP layer decides
what is kept; a backend only has to take a key atomically, once, and keep what it
is given until it expires, so the store is three calls every backend can make
conditional (an SQL upsert, a DynamoDB conditional put).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import attrs

from ._history import Json

__all__ = ["IdempotencyStore", "KeptAnswer"]


@attrs.frozen(kw_only=True)
class KeptAnswer:
    """What a store keeps under one idempotency key.

    Attributes:
        key: The client's key.
        fingerprint: A digest of the request that took the key; a retry must
            match it (the HTTP layer refuses another request under the same key).
        answer: The first request's answer, as JSON; None while it is still
            being answered.
        expires_at: When the key is forgotten (and may be taken again).
        held_until: While ``answer`` is None: when the first request's hold on
            the key lapses, so that a request whose server died while answering
            it does not block its key until it expires. Ignored once answered.
    """

    key: str
    fingerprint: str
    answer: Json = None
    expires_at: datetime
    held_until: datetime

    def live_at(self, now: datetime) -> bool:
        """Whether the entry still holds its key at ``now`` (see ``IdempotencyStore``)."""
        if now >= self.expires_at:
            return False
        return self.answer is not None or now < self.held_until


class IdempotencyStore(Protocol):
    """Idempotency keys and the answers kept under them (see ``KeptAnswer``).

    Times are the caller's clock (the engine's, so a test's virtual clock works),
    compared only with each other: a key is *live* at ``now`` while
    ``now < expires_at``, and, without an answer, while ``now < held_until``.
    """

    async def take(self, taking: KeptAnswer, now: datetime) -> KeptAnswer | None:
        """Take ``taking.key`` for a first request, atomically.

        Returns:
            None when the key was free (never used, expired, or held by a request
            whose hold lapsed without an answer): ``taking`` is now stored, as one
            atomic write, so of two concurrent callers exactly one gets None.
            Otherwise the live entry kept under the key, unchanged.
        """

    async def keep(self, kept: KeptAnswer) -> None:
        """Store the answer of the request that took ``kept.key`` (replacing its entry)."""

    async def forget(self, key: str, fingerprint: str) -> None:
        """Free a key taken with ``fingerprint`` that will not be answered; others are left."""
