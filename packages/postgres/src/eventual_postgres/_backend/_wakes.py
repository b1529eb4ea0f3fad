"""Wake-ups that name the process holding an execution, so the others do not look for nothing.

A claim leaves an execution another live process holds to that process until
its oldest queued message has waited the backend's ``affinity`` (see
``_queue``). Waking every process for such a message made each of the others
run a claim that found nothing: with messages that do not come in bursts (a
signal now and then), one empty claim per message in every other process. So
the process that queues messages reads, in the same transaction, who holds
their executions, and announces ``orchestrator <holder>`` instead of
``orchestrator`` when every one of them is held by a running process.

A listener wakes its orchestrator at once for a plain ``orchestrator`` and for
its own executions (owners it has claimed or committed as). For another
process's it wakes it once the message is anyone's, the affinity after it
came (plus a margin): the holder may have died or stopped, and the message
must not wait for a poll (an engine may poll hourly). While the holder lives
that look finds nothing, so delayed wakes due within a quarter of the affinity
of each other are one, at the latest of their times: a stream of another
holder's messages costs a process one look per quarter affinity, not one per
message, and a message gets anyone's look at most 1.25 times the affinity
(plus the margin) after it came. A listener that (re)connects looks again the
affinity later, for messages announced while it did not listen; a step that
took an execution over from another holder wakes everyone once when it
commits, since messages queued meanwhile named the previous holder.

A process of an older release ignores a loop name it does not know, so it is
not woken for another holder's messages; it still finds them at its poll.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable
from typing import Final

import psycopg

from eventual import ExecutionStatus

from .._database import Connection

__all__ = ["ORCHESTRATOR", "Holders", "Holding", "WakeRouter", "orchestrator_wakes", "send_holders"]

ORCHESTRATOR: Final = "orchestrator"
MARGIN: Final = 0.05
"""Seconds a delayed wake comes after the affinity, for the server's clock to get there too."""

# The holder of each execution messages were queued for; NULL when anyone may
# take them at once (nobody holds it, it is not running, or it is unknown).
_HOLDERS = """
    SELECT DISTINCT executions.holder FROM unnest(%s::text[]) AS target(id)
    LEFT JOIN executions ON executions.id = target.id AND executions.status = %s
"""

Cursor = psycopg.AsyncCursor[tuple[object, ...]]


async def send_holders(conn: Connection, execution_ids: Iterable[str]) -> Holders:
    """Ask, in the caller's transaction, who holds ``execution_ids``; read the answer later.

    In a pipeline the answer comes with the pipeline's others: read it with
    :meth:`Holders.loops` once the transaction is done.
    """
    ids = sorted(set(execution_ids))
    cursor = await conn.execute(_HOLDERS, (ids, ExecutionStatus.RUNNING.value))
    return Holders(cursor)


class Holders:
    """The answer of :func:`send_holders`."""

    def __init__(self, cursor: Cursor) -> None:
        self._cursor = cursor

    async def loops(self) -> list[str]:
        """Return the loops to announce: ``orchestrator <holder>`` each, or ``orchestrator``."""
        rows = await self._cursor.fetchall()
        return orchestrator_wakes(None if row[0] is None else str(row[0]) for row in rows)


def orchestrator_wakes(holders: Iterable[str | None]) -> list[str]:
    """Return the loops that wake whom messages for executions with ``holders`` concern.

    ``orchestrator`` (everyone) when any of them is anyone's (``None``),
    else ``orchestrator <holder>`` for each holder.
    """
    named: set[str] = set()
    for holder in holders:
        if holder is None:
            return [ORCHESTRATOR]
        named.add(holder)
    return [f"{ORCHESTRATOR} {holder}" for holder in sorted(named)] or [ORCHESTRATOR]


class Holding:
    """What this backend's engines hold, as the wake-ups they get need to know.

    Attributes:
        owners: The owners they claim and commit as: a notification naming one
            is for this process.
        taken_over: Executions claimed from another holder whose step has not
            committed yet: messages queued meanwhile named that holder, so the
            step's commit wakes every orchestrator once.
    """

    def __init__(self) -> None:
        self.owners: set[str] = set()
        self.taken_over: set[str] = set()


class WakeRouter:
    """Passes notifications to ``wake``, holding back another process's until they are anyone's.

    Args:
        wake: The engine's wake-up, called with a loop's name.
        holding: What this process holds (its owners are read at each
            notification: they fill as the engine works).
        affinity: Seconds a claim leaves an execution to its holder.
    """

    def __init__(self, wake: Callable[[str], None], holding: Holding, affinity: float) -> None:
        self._wake = wake
        self._owners = holding.owners
        self._affinity = affinity
        self._merge = affinity / 4
        # Delayed wakes, each [when its first message is anyone's, when it is due] on
        # the event loop's clock: a wake covers the messages of a quarter affinity.
        self._due: deque[list[float]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def __call__(self, text: str) -> None:
        """Handle one notification's loop part (``"orchestrator <holder>"`` or a loop's name)."""
        loop, _, holder = text.partition(" ")
        if not holder or self._affinity <= 0 or holder in self._owners:
            self._wake(loop)
            return
        if loop == ORCHESTRATOR:
            self._defer()

    def connected(self) -> None:
        """Wake the orchestrator once more, ``affinity`` from now.

        Messages another process held were announced while nobody listened
        here, and may be anyone's by then.
        """
        if self._affinity > 0:
            self._defer()

    def _defer(self) -> None:
        clock = asyncio.get_running_loop()
        due = clock.time() + self._affinity + MARGIN
        if self._due and due - self._due[-1][0] <= self._merge:
            self._due[-1][1] = due
        else:
            self._due.append([due, due])
        if self._timer is None:
            self._timer = clock.call_at(self._due[0][1], self._fire)

    def _fire(self) -> None:
        self._timer = None
        clock = asyncio.get_running_loop()
        now = clock.time()
        fired = False
        while self._due and self._due[0][1] <= now:
            self._due.popleft()
            fired = True
        if fired:
            self._wake(ORCHESTRATOR)
        if self._due:
            self._timer = clock.call_at(self._due[0][1], self._fire)

    def close(self) -> None:
        """Drop the delayed wakes (the listener stopped)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._due.clear()
