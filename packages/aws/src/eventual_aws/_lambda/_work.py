"""The task, timer, forwarder and subscription functions.

A task's function (``{"token"}`` on its queue, batch size 1) claims the attempt
the message names and runs it with the ``TaskWorker``: deadlines, body, outcome
queued for the workflow. The timer function (``{"timer_id"}``, delayed until
due) claims the timer and fires it with the ``TimerWorker``. The forwarder gets
a one-time schedule's input (``{"timer_id", "due"}``) and fires the timer, or
hands it to the timer queue when that cannot be done now; a recurring
schedule's input (``{"schedule", "scheduled_time"}``) it hands to the engine. A subscription's
function delivers its queue's events with the bus's ``handle_batch``.

When the claim takes nothing, what waits decides: a finished attempt or fired
timer (a duplicate ring) is acknowledged; work not ready yet (a back-off, a
timer rung early) is rung again for the rest of the delay, and the message
acknowledged; work another function holds is reported failed and made visible
again when that claim lapses (an attempt held for ``complete_async()``,
longer than SQS can hold a message back, is acknowledged: ``complete_task``
finishes it).
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any, Literal

from .._backend._doorbells import MAX_DELAY, Bell
from .._bus import handle_batch
from .._bus._consume import MAX_VISIBILITY_SECONDS
from ._common import hold_back, lease_of
from ._log import log_context
from ._runtime import Runtime
from ._schedules import is_schedule_event, tick
from ._sqs import BadEvent, Record, answer, records_of

__all__ = ["deliver", "fire_timer", "forward", "run_task", "timer"]

log = logging.getLogger("eventual.aws.lambda")

_TASK_LEASE = timedelta(minutes=15)
_TIMER_LEASE = timedelta(seconds=40)

Fired = Literal["fired", "gone", "early", "held", "taken"]


async def _each(
    runtime: Runtime, event: object, context: object, one: Any, default_lease: timedelta
) -> dict[str, object]:
    lease = lease_of(context, default_lease)
    failed: list[str] = []
    for record in records_of(event):
        with log_context(message_id=record.message_id, receive_count=record.receive_count):
            try:
                ok = await one(runtime, record, lease)
            except BadEvent as error:
                log.error("%s; acknowledged, since retrying cannot make it a doorbell", error)
                ok = True
            except Exception:
                log.exception("message %s failed; it will be delivered again", record.message_id)
                ok = False
        if not ok:
            failed.append(record.message_id)
    return answer(failed)


# --- tasks ------------------------------------------------------------------------------


async def run_task(runtime: Runtime, event: object, context: object) -> dict[str, object]:
    """Run the attempt each message names; return the partial batch response."""
    return await _each(runtime, event, context, _task, _TASK_LEASE)


async def _task(runtime: Runtime, record: Record, lease: timedelta) -> bool:
    token = record.fields("token")["token"]
    backend = runtime.backend
    with log_context(token=token):
        request = await backend.tasks.claim_token(token, runtime.owner, runtime.now(), lease)
        if request is None:
            return await _task_unclaimed(runtime, record, token)
        runtime.faults.reach("task.claimed")
        if runtime.task is not None and request.task != runtime.task:
            log.warning("the function of task %s runs an attempt of %s", runtime.task, request.task)
        with log_context(
            execution_id=request.execution_id,
            seq=request.seq,
            attempt=request.attempt,
            task=request.task,
        ):
            await runtime.tasks.run(request)
            log.info("attempt %d of %s (seq %d) ran", request.attempt, request.task, request.seq)
        runtime.faults.reach("task.recorded")
        return True


async def _task_unclaimed(runtime: Runtime, record: Record, token: str) -> bool:
    backend = runtime.backend
    waiting = await backend.tasks.waiting(token)
    if waiting is None:
        log.info("attempt %s is finished already (or unknown); nothing to run", token)
        if record.redelivered:
            await _ring_outcome(runtime, token)
        return True
    if waiting.held_for > MAX_VISIBILITY_SECONDS:
        log.info("attempt %s waits for complete_task; nothing to run", token)
        return True
    if waiting.held_for > 0:
        await hold_back(runtime, record, waiting.held_for + 1)
        return False
    if waiting.ready_in > 0:
        if runtime.task is None:
            await hold_back(runtime, record, waiting.ready_in)
            return False
        due = runtime.now() + timedelta(seconds=waiting.ready_in)
        await backend.ring([Bell(kind="task", target=runtime.task, id=token, due=due)])
        log.info("attempt %s is not ready for %.0f s; rung again", token, waiting.ready_in)
        return True
    return False  # taken and released meanwhile: deliver again


async def _ring_outcome(runtime: Runtime, token: str) -> None:
    # The attempt is gone and its outcome queued, but the function that queued it
    # may have died before ringing the workflow queue: ring it when the execution
    # still has messages waiting. Tokens are ``{execution}|{seq}|{attempt}``; the
    # ring's deduplication id is the outcome message's, so a ring that did go out
    # within SQS's five-minute window makes this one a no-op.
    execution_id = token.rsplit("|", 2)[0]
    waiting = await runtime.backend.queue.waiting(execution_id)
    if waiting is not None and waiting.held_for == 0:
        await runtime.backend.ring([Bell(kind="workflow", target=execution_id, id=f"{token}|done")])


# --- timers -----------------------------------------------------------------------------


async def timer(runtime: Runtime, event: object, context: object) -> dict[str, object]:
    """Fire the timer each message names; return the partial batch response."""
    return await _each(runtime, event, context, _timer, _TIMER_LEASE)


async def _timer(runtime: Runtime, record: Record, lease: timedelta) -> bool:
    timer_id = record.fields("timer_id")["timer_id"]
    with log_context(timer_id=timer_id):
        outcome, seconds = await fire_timer(runtime, timer_id, lease)
        if outcome == "held":
            await hold_back(runtime, record, seconds + 1)
            return False
        if outcome == "early":
            await _ring_timer(runtime, timer_id, seconds)
        return outcome != "taken"


async def fire_timer(runtime: Runtime, timer_id: str, lease: timedelta) -> tuple[Fired, float]:
    """Claim and fire one timer; say what happened and, when early or held, for how long."""
    backend = runtime.backend
    claimed = await backend.timers.claim(timer_id, runtime.owner, runtime.now(), lease)
    if claimed is None:
        waiting = await backend.timers.waiting(timer_id)
        if waiting is None:
            log.info("timer %s fired already (or is unknown)", timer_id)
            return "gone", 0.0
        if waiting.held_for > 0:
            return "held", waiting.held_for
        if waiting.ready_in > 0:
            return "early", waiting.ready_in
        return "taken", 0.0
    runtime.faults.reach("timer.claimed")
    with log_context(execution_id=claimed.execution_id, seq=claimed.seq, timer_kind=claimed.kind):
        await runtime.timers.fire([claimed])
        log.info("timer %s fired", timer_id)
    runtime.faults.reach("timer.fired")
    return "fired", 0.0


async def _ring_timer(runtime: Runtime, timer_id: str, seconds: float) -> None:
    """Ring the timer again in ``seconds``: on the timer queue, raising when SQS refuses.

    Beyond SQS's 15-minute delay a one-time schedule is created instead (as the
    backend does for any timer due that late).
    """
    if seconds > MAX_DELAY:
        due = runtime.now() + timedelta(seconds=seconds)
        await runtime.backend.ring([Bell(kind="timer", target="", id=timer_id, due=due)])
        return
    url = runtime.backend.config.timer_queue_url
    if url is None:
        raise BadEvent("EVENTUAL_AWS_TIMER_QUEUE_URL is not set: the timer cannot be rung again")
    clients = runtime.backend.clients
    await clients.call(
        clients.sqs.send_message,
        QueueUrl=url,
        MessageBody=json.dumps({"timer_id": timer_id}, separators=(",", ":")),
        DelaySeconds=min(MAX_DELAY, max(0, int(seconds + 0.999))),
    )


# --- the scheduler's forwarder ----------------------------------------------------------


async def forward(runtime: Runtime, event: object, context: object) -> dict[str, object]:
    """Fire a timer whose one-time schedule ran, or hand it to the timer queue.

    A recurring schedule's occurrence (``{"schedule", "scheduled_time"}``) is
    handed to the engine instead (:func:`._schedules.tick`).

    Returns:
        ``{"timer_id", "outcome"}``: ``fired``, ``gone`` (fired already),
        ``forwarded`` (rung on the timer queue) or ``invalid`` (the input names no timer);
        for an occurrence, ``{"schedule", "scheduled_time", "outcome"}``.
    """
    if is_schedule_event(event):
        assert isinstance(event, dict)
        return await tick(runtime, event)
    timer_id = event.get("timer_id") if isinstance(event, dict) else None
    if not isinstance(timer_id, str) or not timer_id:
        # The schedule's input is written by the backend; retrying cannot fix it.
        log.error('the forwarder\'s input names no timer (expected {"timer_id", "due"}): %r', event)
        return {"timer_id": None, "outcome": "invalid"}
    with log_context(timer_id=timer_id):
        runtime.faults.reach("forwarder.received")
        try:
            outcome, seconds = await fire_timer(runtime, timer_id, lease_of(context, _TIMER_LEASE))
        except Exception:
            # The timer queue retries with SQS's redelivery and dead letters, which a
            # scheduled invocation lacks: hand it over (raising if even that fails,
            # so Lambda retries the invocation).
            log.exception("firing timer %s failed; handing it to the timer queue", timer_id)
            outcome, seconds = "taken", 0.0
        if outcome in ("fired", "gone"):
            runtime.faults.reach("forwarder.handled")
            return {"timer_id": timer_id, "outcome": outcome}
        await _ring_timer(runtime, timer_id, seconds + (1 if outcome == "held" else 0))
        log.info("timer %s handed to the timer queue (%s, %.0f s)", timer_id, outcome, seconds)
        runtime.faults.reach("forwarder.handled")
        return {"timer_id": timer_id, "outcome": "forwarded"}


# --- subscriptions ----------------------------------------------------------------------


async def deliver(runtime: Runtime, event: object, context: object) -> dict[str, object]:
    """Deliver a subscription queue's batch to the function's subscription."""
    records = records_of(event)
    subscription = runtime.subscription
    if subscription is None:
        raise BadEvent(
            "EVENTUAL_AWS_SUBSCRIPTION is not set: the plan sets it on each subscription's "
            "function to the subscription it runs"
        )
    clients = runtime.backend.clients

    async def change_visibility(url: str, receipt: str, seconds: int) -> None:
        await clients.call(
            clients.sqs.change_message_visibility,
            QueueUrl=url,
            ReceiptHandle=receipt,
            VisibilityTimeout=seconds,
        )

    with log_context(subscription=subscription):
        result = await handle_batch(
            [record.raw for record in records],
            subscription=subscription,
            consumer=runtime.consumer,
            config=runtime.bus.config,
            change_visibility=change_visibility,
        )
    runtime.faults.reach("subscription.delivered")
    return dict(result)
