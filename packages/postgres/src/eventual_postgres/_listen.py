"""Wake-ups across machines: ``LISTEN`` for the notifications the schema's triggers send.

Each notification on the ``eventual`` channel carries ``"<schema> <loop>"``, or
``"<schema> orchestrator <holder>"`` for messages of executions a process holds
(``_backend._wakes``, which decides whom that wakes and when). A
listener keeps one connection of its own (a pooled connection would be handed
to other work between notifications) and reconnects after a failure, waking
every loop when it does: notifications sent while nobody listened are lost, so
the loops must look for themselves once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Final

import psycopg

__all__ = ["CHANNEL", "LOOPS", "listen"]

CHANNEL: Final = "eventual"
LOOPS: Final = ("orchestrator", "tasks", "timers", "events")

log = logging.getLogger("eventual.postgres")


async def listen(
    dsn: str,
    schema: str,
    wake: Callable[[str], None],
    *,
    loops: Iterable[str] = LOOPS,
    retry_after: float = 1.0,
    connected: Callable[[], None] | None = None,
) -> None:
    """Call ``wake(loop)`` for each notification of ``schema``, until cancelled.

    Args:
        dsn: The database to listen on.
        schema: Only notifications of this schema count.
        wake: Called with what follows the schema: the loop's name, and for
            messages of a held execution its holder after a space (never
            raises into the listener: an exception is logged).
        loops: The loops woken after each (re)connection.
        retry_after: Seconds between reconnection attempts.
        connected: Called after each (re)connection, once ``loops`` were woken.
    """
    prefix = f"{schema} "
    known = tuple(loops)
    while True:
        try:
            conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
        except psycopg.OperationalError:
            log.warning("eventual cannot listen for work on %s; retrying", schema, exc_info=True)
            await asyncio.sleep(retry_after)
            continue
        try:
            await conn.execute(f"LISTEN {CHANNEL}")
            _call(wake, known)
            if connected is not None:
                connected()
            async for payload in _notifications(conn):
                if payload.startswith(prefix):
                    _call(wake, (payload[len(prefix) :],))
        except psycopg.OperationalError:
            log.warning("eventual lost its listening connection on %s", schema, exc_info=True)
            await asyncio.sleep(retry_after)
        finally:
            await conn.close()


async def _notifications(conn: psycopg.AsyncConnection[object]) -> AsyncIterator[str]:
    """Yield the payload of each notification the connection receives, until it breaks.

    Waits on the socket itself rather than in ``conn.notifies()``: cancelling a
    wait there makes psycopg cancel a query that does not exist and log a
    warning on every clean shutdown.

    Raises:
        psycopg.OperationalError: The connection was lost.
    """
    loop = asyncio.get_running_loop()
    readable = asyncio.Event()
    socket = conn.pgconn.socket
    loop.add_reader(socket, readable.set)
    try:
        while True:
            await readable.wait()
            readable.clear()
            conn.pgconn.consume_input()
            while (notice := conn.pgconn.notifies()) is not None:
                yield notice.extra.decode("utf-8", errors="replace")
    finally:
        loop.remove_reader(socket)


def _call(wake: Callable[[str], None], loops: Iterable[str]) -> None:
    for loop in loops:
        try:
            wake(loop)
        except Exception:
            log.exception("eventual could not wake the %s loop", loop)
