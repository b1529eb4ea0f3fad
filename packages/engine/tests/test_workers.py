"""Task workers: what a deadline may interrupt (the timeouts themselves: test_workflows)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from eventual import Service, task, workflow
from eventual_engine import Engine, ManualClock, MemoryBackend


@task(timeout=timedelta(seconds=5))
async def quick(x: int) -> int:
    return x


@workflow
async def one_quick(x: int) -> int:
    return await quick(x)


SERVICE = Service.from_definitions("workers", [quick, one_quick])


async def test_a_deadline_does_not_cancel_an_attempt_committing_its_outcome(
    clock: ManualClock,
) -> None:
    """Once the body returned, a deadline leaves the attempt to commit its outcome."""
    engine = Engine(SERVICE, MemoryBackend(), clock=clock)
    commit = engine.backend.executions.commit
    cancelled: list[bool] = []

    async def commit_after_the_deadline(step: object) -> None:
        # The deadline arrives while the outcome's commit is under way.
        if step.finished:  # type: ignore[attr-defined]
            for token in list(engine.tasks.running):
                engine.tasks.cancel(token)
            await asyncio.sleep(0)
            cancelled.append(any(t.cancelling() for t in engine.tasks.running.values()))
        await commit(step)  # type: ignore[arg-type]

    engine.backend.executions.commit = commit_after_the_deadline  # type: ignore[method-assign]
    id_ = await engine.start_execution(one_quick.name, 7, "quick")
    await engine.run_until_idle()
    assert cancelled == [False]
    assert (await engine.execution_record(id_)).result == 7
