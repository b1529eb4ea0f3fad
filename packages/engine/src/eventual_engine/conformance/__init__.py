"""The backend contract as plain async checks, for any backend to prove itself against.

A backend distribution (SQLite and memory here, AWS, PostgreSQL) runs every check
of :data:`CHECKS` on a fresh, empty backend of its own. Each check is an
``async def check(backend, timing) -> None`` that raises ``AssertionError`` when
the backend breaks the contract of ``eventual.spi``; its docstring says what a
caller would notice. The checks need no test framework; with pytest::

    import pytest
    from eventual_engine.conformance import CHECKS, BackendCheck, Timing

    @pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__)
    async def test_backend_contract(check: BackendCheck) -> None:
        \"\"\"The backend keeps every promise of the backend contract.\"\"\"
        backend = await MyBackend(...).open()   # fresh and empty for each check
        try:
            await check(backend, Timing())
        finally:
            await backend.close()

The in-memory backend is the reference: every other backend must agree with it
on everything a caller can observe.

:data:`SEMANTICS` does the same for a whole runtime: each check is an
``async def check(h) -> None`` on a :class:`WorkflowHarness` (start, advance the
clock, settle, a client) whose runtime runs the service of
:mod:`eventual_engine.conformance.workflows` (call its ``reset()`` before each
check); a check starts workflows, signals, cancels and moves time, and asserts
what a user would see. The engine runs them on ``Engine`` with each backend,
eventual-aws on its simulator. ``pytest.register_assert_rewrite(
"eventual_engine.conformance")`` in a ``conftest.py`` gives failing checks
pytest's detailed assertion messages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from eventual.spi import Backend

from . import _executions, _idempotency, _logs, _queue, _tasks, _timers
from ._semantics import SEMANTICS, WorkflowCheck, WorkflowHarness
from .support import Timing

__all__ = [
    "CHECKS",
    "SEMANTICS",
    "BackendCheck",
    "Timing",
    "WorkflowCheck",
    "WorkflowHarness",
    "run_checks",
]

BackendCheck = Callable[[Backend, Timing], Awaitable[None]]
"""One check: run it on a fresh backend; it raises ``AssertionError`` on a breach."""

CHECKS: tuple[BackendCheck, ...] = (
    *_executions.CHECKS,
    *_queue.CHECKS,
    *_timers.CHECKS,
    *_tasks.CHECKS,
    *_idempotency.CHECKS,
    *_logs.CHECKS,
)
"""Every check of the backend contract: executions, queue, timers, tasks, idempotency keys, logs."""


async def run_checks(
    open_backend: Callable[[], Awaitable[Backend]], timing: Timing | None = None
) -> dict[str, Exception]:
    """Run every check, each on a backend of its own, and return the failures.

    Args:
        open_backend: Returns a fresh, empty, opened backend; it is closed after
            its check.
        timing: How long leases that must lapse last; the default suits a
            backend in this process.

    Returns:
        The failed checks' names mapped to what they raised; empty when the backend
        keeps the whole contract.
    """
    failures: dict[str, Exception] = {}
    for check in CHECKS:
        backend = await open_backend()
        try:
            await check(backend, timing or Timing())
        except Exception as error:
            failures[check.__name__] = error
        finally:
            await backend.close()
    return failures
