"""Checks of ``IdempotencyStore``: one taker per key, answers kept, expiry and holds."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from eventual.codec import JsonValue
from eventual.spi import Backend, KeptAnswer

from .support import T0, Timing

__all__ = ["CHECKS"]

_DAY = timedelta(days=1)


def _taking(key: str, fingerprint: str = "f1", *, hold: timedelta = _DAY) -> KeptAnswer:
    return KeptAnswer(key=key, fingerprint=fingerprint, expires_at=T0 + _DAY, held_until=T0 + hold)


async def a_key_is_taken_once(backend: Backend, timing: Timing) -> None:
    """Of several takers of one key at once, exactly one gets it; the others see its entry."""
    store = backend.idempotency
    takers = [_taking("k", f"f{i}") for i in range(5)]
    results = await asyncio.gather(*(store.take(taker, T0) for taker in takers))
    winners = [taker for taker, result in zip(takers, results, strict=True) if result is None]
    assert len(winners) == 1, results
    assert all(result == winners[0] for result in results if result is not None), results
    assert await store.take(_taking("other"), T0) is None


async def a_kept_answer_is_given_back(backend: Backend, timing: Timing) -> None:
    """After ``keep``, taking the key returns the entry with its answer, unchanged."""
    store = backend.idempotency
    taking = _taking("k")
    assert await store.take(taking, T0) is None
    answer: JsonValue = {"status": 201, "body": "eyJpZCI6ICJ3Zi8xIn0=", "headers": {"x": "é"}}
    kept = KeptAnswer(key="k", fingerprint="f1", answer=answer, expires_at=T0 + _DAY, held_until=T0)
    await store.keep(kept)
    later = T0 + timedelta(hours=23)
    assert await store.take(_taking("k", "f2"), later) == kept


async def an_expired_key_is_taken_again(backend: Backend, timing: Timing) -> None:
    """A key is free again once it expired, answered or not."""
    store = backend.idempotency
    await store.take(_taking("k"), T0)
    await store.keep(
        KeptAnswer(key="k", fingerprint="f1", answer=1, expires_at=T0 + _DAY, held_until=T0)
    )
    fresh = KeptAnswer(
        key="k", fingerprint="f2", expires_at=T0 + 3 * _DAY, held_until=T0 + 2 * _DAY
    )
    assert await store.take(fresh, T0 + _DAY) is None
    assert await store.take(_taking("k", "f3"), T0 + _DAY) == fresh


async def an_unanswered_key_is_free_after_its_hold(backend: Backend, timing: Timing) -> None:
    """A key taken but never answered is held until ``held_until``, then may be taken again."""
    store = backend.idempotency
    held = _taking("k", hold=timedelta(minutes=1))
    assert await store.take(held, T0) is None
    assert await store.take(_taking("k", "f2"), T0 + timedelta(seconds=59)) == held
    assert await store.take(_taking("k", "f2"), T0 + timedelta(minutes=1)) is None


async def forget_frees_only_its_own_key(backend: Backend, timing: Timing) -> None:
    """``forget`` frees a key taken with its fingerprint, and leaves another's alone."""
    store = backend.idempotency
    first = _taking("k", "f1")
    await store.take(first, T0)
    await store.forget("k", "f2")
    assert await store.take(_taking("k", "f2"), T0) == first
    await store.forget("k", "f1")
    await store.forget("never-taken", "f1")
    assert await store.take(_taking("k", "f2"), T0) is None


CHECKS = (
    a_key_is_taken_once,
    a_kept_answer_is_given_back,
    an_expired_key_is_taken_again,
    an_unanswered_key_is_free_after_its_hold,
    forget_frees_only_its_own_key,
)
