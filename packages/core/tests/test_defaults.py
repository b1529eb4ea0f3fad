"""Default clients: which open client serves code that has no explicit one."""

from __future__ import annotations

import asyncio
import threading
from typing import cast

from eventual.spi import Client, DefaultClient, add_default_client, current_client, use_client


class _Fake:
    """Stands in for a runtime; only its identity matters here."""


def _as_client(fake: object) -> Client:
    # Identity (and, for one test, one method) is all these tests look at.
    return cast(Client, fake)


async def test_the_innermost_explicit_client_beats_every_default() -> None:
    """use_client() wins over a default of the running loop."""
    default, explicit = _as_client(_Fake()), _as_client(_Fake())
    registration = add_default_client(default)
    try:
        assert current_client() is default
        with use_client(explicit):
            assert current_client() is explicit
    finally:
        registration.dispose()
    assert current_client() is None


async def test_defaults_nest_latest_first() -> None:
    """The default opened last serves until disposed, then the earlier one serves again."""
    first, second = _as_client(_Fake()), _as_client(_Fake())
    earlier = add_default_client(first)
    later = add_default_client(second)
    assert current_client() is second
    later.dispose()
    later.dispose()  # a second dispose does nothing
    assert current_client() is first
    earlier.dispose()
    assert current_client() is None


def test_a_default_on_a_loop_that_is_not_running_serves_nobody() -> None:
    """A client left open on a stopped loop is skipped (a call to it would never return)."""
    loop = asyncio.new_event_loop()

    async def register() -> DefaultClient:
        return add_default_client(_as_client(_Fake()))

    registration = loop.run_until_complete(register())
    try:

        async def look() -> Client | None:
            return current_client()

        assert asyncio.run(look()) is None
    finally:
        registration.dispose()
        loop.close()


async def test_a_default_is_reached_from_another_thread_through_its_loop() -> None:
    """Code on another thread's loop gets a proxy that runs calls on the client's own loop."""
    threads: list[int] = []

    class Recording:
        async def execution_status(self, execution_id: str) -> str:
            threads.append(threading.get_ident())
            return execution_id

    registration = add_default_client(_as_client(Recording()))

    async def elsewhere() -> object:
        client = current_client()
        assert client is not None
        return await client.execution_status("wf/a")

    try:
        result = await asyncio.to_thread(asyncio.run, elsewhere())
    finally:
        registration.dispose()
    assert result == "wf/a"
    assert threads == [threading.get_ident()]
