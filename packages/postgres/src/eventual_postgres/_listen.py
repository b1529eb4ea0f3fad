"""Wake-ups across machines: ``LISTEN`` for the notifications the schema's triggers send.

Each notification on the ``eventual`` channel carries ``"<schema> <loop>"``, or
``"<schema> orchestrator <holder>"`` for messages of executions a process holds
(``_backend._wakes``, which decides whom that wakes and when). A
listener keeps one connection of its own (a pooled connection would be handed
to other work between notifications) and reconnects after a failure, waking
every loop when it does: notifications sent while nobody listened are lost, so
the loops must look for themselves once. Reconnection attempts back off, and
an outage is logged once at WARNING however many attempts it takes.
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
    max_retry_after: float = 30.0,
    connected: Callable[[], None] | None = None,
) -> None:
    """Call ``wake(loop)`` for each notification of ``schema``, until cancelled.

    A lost connection or a failed attempt is logged once at WARNING with its
    error (the next failed attempts at DEBUG), and listening again once at
    INFO. Any database error counts, not only a lost connection: a listener
    that gave up would leave this process to its polls until the engine
    restarted it, ten poll intervals later. Attempts wait ``retry_after``,
    twice that after each failure up to ``max_retry_after``, and
    ``retry_after`` again once listening.

    Args:
        dsn: The database to listen on.
        schema: Only notifications of this schema count.
        wake: Called with what follows the schema: the loop's name, and for
            messages of a held execution its holder after a space (never
            raises into the listener: an exception is logged).
        loops: The loops woken after each (re)connection.
        retry_after: Seconds before the first reconnection attempt.
        max_retry_after: The most seconds between reconnection attempts.
        connected: Called after each (re)connection, once ``loops`` were woken.
    """
    prefix = f"{schema} "
    known = tuple(loops)
    delay = retry_after
    failing = False  # an outage was logged at WARNING; say when it ends
    while True:
        try:
            conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
        except psycopg.Error as error:
            _failed(
                failing,
                "eventual cannot listen for work on %s (%s); retrying in %.3g s",
                schema,
                error,
                delay,
            )
            failing = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_retry_after)
            continue
        # The server says why it ends a session (a FATAL error, which libpq
        # hands to notice handlers when no query runs) before it closes it.
        said = _recorder(conn)
        try:
            await conn.execute(f"LISTEN {CHANNEL}")
            if failing:
                log.info("eventual listens for work on %s again", schema)
                failing = False
            delay = retry_after
            _call(wake, known)
            if connected is not None:
                connected()
            async for payload in _notifications(conn):
                if payload.startswith(prefix):
                    _call(wake, (payload[len(prefix) :],))
        except psycopg.Error as error:
            _failed(
                failing,
                "eventual lost its listening connection on %s (%s); reconnecting in %.3g s",
                schema,
                said[-1] if said else error,
                delay,
            )
            failing = True
            await conn.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_retry_after)
        finally:
            await conn.close()


def _recorder(conn: psycopg.AsyncConnection[object]) -> list[str]:
    """Return a list the errors the server sends ``conn`` outside queries will be added to."""
    said: list[str] = []

    def record(notice: psycopg.errors.Diagnostic) -> None:
        if notice.severity_nonlocalized in ("ERROR", "FATAL", "PANIC") and notice.message_primary:
            said.append(f"{notice.severity}: {notice.message_primary}")

    conn.add_notice_handler(record)
    return said


def _failed(failing: bool, message: str, *args: object) -> None:
    """Log a failure at WARNING if it begins an outage, else at DEBUG."""
    log.log(logging.DEBUG if failing else logging.WARNING, message, *args)


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
