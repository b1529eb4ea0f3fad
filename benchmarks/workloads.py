"""The workloads every benchmark runs, for eventual and for DBOS, and how each side is set up.

Both sides run the same shape of work:

- ``three_tasks_and_timer``: three sequential tasks (steps, in DBOS) that add one,
  with one zero-length durable timer between the second and the third. DBOS's
  ``sleep_async(0)`` returns without recording anything, so DBOS sleeps 1 µs
  instead, which it records as a durable sleep step.
- ``n_tasks``: one execution of ``n`` sequential tasks (eventual only).
- ``wait_an_hour``: an execution that waits on a one-hour timer (eventual only).
- ``three_io_waits`` / ``three_blocking_waits``: three sequential tasks that each
  wait the given seconds on simulated I/O, as a call to another service would
  (``asyncio.sleep`` in an ``async`` task; ``time.sleep`` in a ``def`` task, which
  runs on a thread), so a worker's rate is bounded by its task slots, not its CPU
  (eventual only; ``postgres.py --io``).
- ``three_signals``: an execution that waits for three ``tick`` signals in turn and
  runs no task, as an approval flow does (eventual only; ``postgres.py --signals``).

Durability is chosen per run with a *profile*, applied the same way to both sides:

- ``FULL``: SQLite in WAL mode with ``PRAGMA synchronous=FULL``. The WAL is
  fsync'ed at every commit, so a commit that returned survives a power loss.
- ``NORMAL``: SQLite in WAL mode with ``PRAGMA synchronous=NORMAL``. The WAL is
  fsync'ed only at checkpoints, so a commit that returned survives a crash of the
  process but a power loss may undo the last commits (the file stays consistent).

eventual's ``SqliteBackend`` always uses WAL and takes ``synchronous`` as an
option. DBOS 3.x on SQLite sets neither pragma (its connect hook only sets
``isolation_level = IMMEDIATE``, ``busy_timeout`` and ``foreign_keys``), so out of
the box a new file gets SQLite's defaults: the rollback journal
(``journal_mode=DELETE``) and ``synchronous=FULL``. To compare like with like the
DBOS file is created in WAL mode beforehand (the journal mode is stored in the
file, so DBOS's connections inherit it), and for ``NORMAL`` a SQLAlchemy
``connect`` hook sets ``PRAGMA synchronous=NORMAL`` on every connection DBOS
opens. Each side's settings are read back from its own connection and reported.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Callable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from eventual import Service, signal, sleep, task, workflow
from eventual_engine import EngineOptions, LocalRuntime
from eventual_engine._sqlite import SqliteBackend

Profile = Literal["FULL", "NORMAL"]
PROFILES: tuple[Profile, ...] = ("FULL", "NORMAL")

PROFILE_TEXT = {
    "FULL": "WAL journal, synchronous=FULL: each commit fsyncs the WAL; survives power loss",
    "NORMAL": (
        "WAL journal, synchronous=NORMAL: fsync only at checkpoints; survives a process "
        "crash, a power loss may undo the last commits"
    ),
}

DBOS_SLEEP_SECONDS = 1e-6
"""DBOS skips ``sleep_async(0)`` entirely; the shortest sleep it records durably."""

_SYNCHRONOUS_NAMES = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


# --- eventual ------------------------------------------------------------------------------


@task
async def add_one(x: int) -> int:
    return x + 1


@workflow
async def three_tasks_and_timer(x: int) -> int:
    x = await add_one(x)
    x = await add_one(x)
    await sleep(timedelta(0))
    return await add_one(x)


@workflow
async def n_tasks(n: int) -> int:
    x = 0
    for _ in range(n):
        x = await add_one(x)
    return x


@workflow
async def wait_an_hour(x: int) -> int:
    await sleep(timedelta(hours=1))
    return x


@task
async def io_wait(seconds: float) -> float:
    await asyncio.sleep(seconds)
    return seconds


@task
def blocking_wait(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@workflow
async def three_io_waits(seconds: float) -> float:
    for _ in range(3):
        await io_wait(seconds)
    return 3 * seconds


@workflow
async def three_blocking_waits(seconds: float) -> float:
    for _ in range(3):
        await blocking_wait(seconds)
    return 3 * seconds


tick = signal("tick", int)


@workflow
async def three_signals(_: None) -> int:
    total = 0
    for _ in range(3):
        total += await tick.expect()
    return total


SERVICE = Service.from_definitions(
    "bench",
    [
        add_one,
        three_tasks_and_timer,
        n_tasks,
        wait_an_hour,
        io_wait,
        blocking_wait,
        three_io_waits,
        three_blocking_waits,
        three_signals,
    ],
)


class BenchRuntime(LocalRuntime):
    """``LocalRuntime`` of the bench service with a chosen SQLite ``synchronous`` setting.

    The setting reaches the ``sqlite`` backend plugin as ``sqlite_synchronous``,
    as it would from ``[tool.eventual]``. ``db=None`` uses the in-memory backend.
    """

    def __init__(
        self,
        db: Path | None,
        synchronous: Profile = "NORMAL",
        options: EngineOptions | None = None,
    ) -> None:
        super().__init__(SERVICE, db, settings={"sqlite_synchronous": synchronous}, options=options)
        self.synchronous: Profile = synchronous

    async def __aenter__(self) -> BenchRuntime:
        await super().__aenter__()
        return self

    @property
    def sqlite(self) -> SqliteBackend | None:
        """The SQLite backend, or None on the in-memory one."""
        backend = self.engine.backend
        return backend if isinstance(backend, SqliteBackend) else None

    async def sqlite_settings(self) -> dict[str, str]:
        """Read ``journal_mode`` and ``synchronous`` back from the backend's own connection."""
        if self.sqlite is None:
            return {"journal_mode": "memory (no SQLite)", "synchronous": "n/a"}
        db = getattr(self.sqlite, "_db", None)
        if db is None or not hasattr(db, "read"):
            return {"journal_mode": "unverified", "synchronous": self.synchronous}
        return dict(await db.read(_read_pragmas))


def engine_options(poll_interval: float | None) -> EngineOptions | None:
    """Engine defaults, or the defaults with another ``poll_interval``."""
    return None if poll_interval is None else EngineOptions(poll_interval=poll_interval)


def default_poll_interval() -> float:
    return EngineOptions().poll_interval


def _read_pragmas(conn: Any) -> dict[str, str]:
    journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    synchronous = int(conn.execute("PRAGMA synchronous").fetchone()[0])
    return {
        "journal_mode": str(journal).upper(),
        "synchronous": _SYNCHRONOUS_NAMES.get(synchronous, str(synchronous)),
    }


# --- DBOS ----------------------------------------------------------------------------------


class DbosWorkload:
    """DBOS configured on a SQLite file, with the same workflow as eventual's."""

    def __init__(self, path: Path, profile: Profile) -> None:
        import sqlalchemy as sa
        from dbos import DBOS

        self.path = path
        self.profile = profile
        # The journal mode is persistent: create the file in WAL mode before DBOS opens it.
        conn = sqlite3.connect(path)
        try:
            conn.execute("PRAGMA journal_mode=WAL").fetchone()
        finally:
            conn.close()
        if profile != "FULL":
            # synchronous is per connection: set it on every connection DBOS opens. Only
            # DBOS uses SQLAlchemy in this (worker) process.
            def set_synchronous(dbapi_conn: Any, _record: Any) -> None:
                dbapi_conn.execute(f"PRAGMA synchronous={profile}")

            sa.event.listen(sa.engine.Engine, "connect", set_synchronous)

        DBOS(
            config={
                "name": "eventual-bench",
                "system_database_url": f"sqlite:///{os.fspath(path)}",
                "log_level": "WARNING",
            }
        )

        @DBOS.step()
        async def dbos_add_one(x: int) -> int:
            return x + 1

        @DBOS.workflow()
        async def dbos_three_steps_and_sleep(x: int) -> int:
            x = await dbos_add_one(x)
            x = await dbos_add_one(x)
            # DBOS returns at once from a sleep of <= 0 s without recording anything;
            # 1 µs records a durable sleep step, as eventual records a zero-length timer.
            await DBOS.sleep_async(DBOS_SLEEP_SECONDS)
            return await dbos_add_one(x)

        self._dbos = DBOS
        self.workflow: Callable[[int], Coroutine[Any, Any, int]] = dbos_three_steps_and_sleep

    def launch(self) -> None:
        self._dbos.launch()

    def destroy(self) -> None:
        self._dbos.destroy(destroy_registry=True)

    async def run_one(self, x: int) -> int:
        """Start one workflow and wait for its result (the same shape as eventual's)."""
        handle: Any = await self._dbos.start_workflow_async(self.workflow, x)
        return int(await handle.get_result())

    async def steps_recorded(self, x: int) -> list[str]:
        """Run one workflow; return the names of the operations DBOS recorded for it."""
        handle: Any = await self._dbos.start_workflow_async(self.workflow, x)
        await handle.get_result()
        steps = await self._dbos.list_workflow_steps_async(handle.get_workflow_id())
        return [str(step["function_name"]) for step in steps]

    def sqlite_settings(self) -> dict[str, str]:
        """Read the pragmas back through DBOS's own system-database engine."""
        from dbos._dbos import _get_dbos_instance

        engine = _get_dbos_instance()._sys_db.engine
        with engine.connect() as conn:
            journal = conn.exec_driver_sql("PRAGMA journal_mode").fetchone()
            synchronous = conn.exec_driver_sql("PRAGMA synchronous").fetchone()
        if journal is None or synchronous is None:
            raise RuntimeError("DBOS's SQLite connection did not report its pragmas")
        return {
            "journal_mode": str(journal[0]).upper(),
            "synchronous": _SYNCHRONOUS_NAMES.get(int(synchronous[0]), str(synchronous[0])),
        }
