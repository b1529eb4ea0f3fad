"""The orchestrator function: a workflow-queue batch in, one step per execution rung.

Each message (``{"execution_id", "id"}``) says an execution has messages
waiting in the table. Messages for one execution are one message group of the
FIFO queue; the function claims each execution of the batch once (so a batch
that rang one execution three times takes one step), runs the step with the
``Orchestrator`` and commits it conditionally, then relays the events steps
published to the bus.

What each outcome means for the message:

- a step committed, or nothing to claim on a first delivery (a duplicate ring,
  or an execution that ended or never existed): acknowledged;
- a redelivery: the function that handled it before may have died between
  its commit and its doorbells, so the execution's last doorbells are rung
  again (``Executions.ring_again``) before anything else, since the record
  keeps them only until the next commit, and the outbox is relayed;
- another function holds the execution (its claim has not lapsed): reported
  failed, visible again when that claim lapses;
- the store failed, or the commit lost to another writer three times: reported
  failed; SQS delivers it again and, after the queue's ``maxReceiveCount``,
  dead-letters it (which loses nothing: the table still holds the messages,
  and the next doorbell for the execution finds them);
- a body that is not a doorbell: logged and acknowledged (retrying cannot help,
  and a doorbell carries no state).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from ._common import hold_back, lease_of
from ._log import log_context
from ._runtime import Runtime
from ._sqs import BadEvent, Record, answer, records_of

__all__ = ["orchestrate"]

log = logging.getLogger("eventual.aws.lambda")

_DEFAULT_LEASE = timedelta(seconds=70)
_TRIES = 3


async def orchestrate(runtime: Runtime, event: object, context: object) -> dict[str, object]:
    """Take one step for each execution the batch rang; return the partial batch response."""
    records = records_of(event)
    lease = lease_of(context, _DEFAULT_LEASE)
    rung: dict[str, list[Record]] = {}
    for record in records:
        try:
            execution_id = record.fields("execution_id")["execution_id"]
        except BadEvent as error:
            log.error("%s; acknowledged, since retrying cannot make it a doorbell", error)
            continue
        rung.setdefault(execution_id, []).append(record)
    outcomes = await asyncio.gather(
        *(
            _step_guarded(runtime, execution_id, group, lease)
            for execution_id, group in rung.items()
        )
    )
    failed = [
        record.message_id
        for ok, group in zip(outcomes, rung.values(), strict=True)
        if not ok
        for record in group
    ]
    # Events steps published wait in the outbox until relayed: after steps that
    # published, and on any redelivery (a function may have died before relaying).
    if "events" in runtime.orchestrator.take_wakes() or any(r.redelivered for r in records):
        try:
            await runtime.client.relay_published()
        except Exception:
            log.exception("relaying published events failed; the next step relays them")
    runtime.faults.reach("orchestrator.relayed")
    return answer(failed)


async def _step_guarded(
    runtime: Runtime, execution_id: str, group: list[Record], lease: timedelta
) -> bool:
    with log_context(execution_id=execution_id, message_ids=[r.message_id for r in group]):
        try:
            return await _step(runtime, execution_id, group, lease)
        except Exception:
            log.exception(
                "the step of %s failed; its doorbell will be delivered again", execution_id
            )
            return False


async def _step(runtime: Runtime, execution_id: str, group: list[Record], lease: timedelta) -> bool:
    backend = runtime.backend
    if any(record.redelivered for record in group):
        # The function that had this message may have died between its commit and
        # its doorbells, which the record keeps only until the next commit: ring
        # them before a step of ours replaces them (duplicates find nothing).
        rung = await backend.executions.ring_again(execution_id)
        log.info("redelivered: rang %d doorbells of %s again", rung, execution_id)
    for _ in range(_TRIES):
        batch = await backend.queue.claim_execution(execution_id, runtime.owner, lease)
        if batch is None:
            waiting = await backend.queue.waiting(execution_id)
            if waiting is None:
                return True
            if waiting.held_for > 0:
                log.info(
                    "%s is held by another function for %.0f s more", execution_id, waiting.held_for
                )
                for record in group:
                    await hold_back(runtime, record, waiting.held_for + 1)
                return False
            continue  # taken and released meanwhile: claim again
        runtime.faults.reach("orchestrator.claimed")
        stepped = await runtime.orchestrator.process(batch)
        runtime.faults.reach("orchestrator.committed")
        if stepped is not None:
            with log_context(status=stepped.status.value):
                log.info("step of %s committed (%d messages)", execution_id, len(batch.messages))
            return True
        log.info("the step of %s lost to another writer; claiming again", execution_id)
    return False
