"""SQS event source mappings: poll each function's queues and invoke it with batches.

What Lambda's poller does, and this one too: receive up to the mapping's batch
size (waiting up to its batching window to fill a batch), invoke the function
with the SQS event, then delete the messages it handled. With
``ReportBatchItemFailures`` only the messages the answer does not name in
``batchItemFailures`` are deleted; without it, a function error leaves the
whole batch. Messages left behind come back after the queue's visibility
timeout (or when the handler changed it), and the queue's redrive policy
dead-letters them after ``maxReceiveCount`` receives, on the endpoint itself.

Two things differ on purpose. Messages of an invocation that *crashed* are made
visible again at once (Lambda waits for the visibility timeout, minutes with
the plan's settings), so a test of recovery need not wait. And with
``duplicate_deliveries`` each batch is handed to the function a second time
right after the first, as SQS's at-least-once delivery allows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from .._backend._clients import Clients
from .._plan import EventSourcePlan, FunctionPlan
from ._events import sqs_event
from ._functions import Crashed, Invoker

__all__ = ["EventSourceMapping"]

log = logging.getLogger("eventual.aws.simulator")

_LONG_POLL_S = 1  # bounds how long stopping waits for a receive in flight
_SHORT_POLL_PAUSE_S = 0.05
_CONCURRENCY = 4  # batches one mapping runs at once (Lambda scales further)


class EventSourceMapping:
    """Polls one queue for one function, as an SQS event source mapping does.

    Args:
        clients: boto3 clients on the endpoint.
        invoker: Runs the function.
        function: The consumer.
        source: The mapping's settings from the plan.
        queue_url: The queue's URL.
        queue_arn: The queue's ARN (the records' ``eventSourceARN``).
        region: The region (the records' ``awsRegion``).
        duplicate_deliveries: Hand every batch to the function twice.
    """

    def __init__(
        self,
        clients: Clients,
        invoker: Invoker,
        function: FunctionPlan,
        source: EventSourcePlan,
        *,
        queue_url: str,
        queue_arn: str,
        region: str,
        duplicate_deliveries: bool,
    ) -> None:
        self._clients = clients
        self._invoker = invoker
        self.function = function
        self.source = source
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self._region = region
        self._duplicates = duplicate_deliveries
        limit = source.maximum_concurrency or _CONCURRENCY
        self._slots = asyncio.Semaphore(min(limit, _CONCURRENCY))
        self._running: set[asyncio.Task[None]] = set()
        self._fifo = queue_url.endswith(".fifo")
        self.busy = 0

    async def run(self) -> None:
        """Poll until cancelled."""
        try:
            while True:
                await self._slots.acquire()
                try:
                    messages = await self._receive()
                except Exception as error:
                    self._slots.release()
                    log.warning("receiving from %s failed: %r", self.queue_url, error)
                    await asyncio.sleep(0.5)
                    continue
                if not messages:
                    self._slots.release()
                    if self._short_polls():
                        await asyncio.sleep(_SHORT_POLL_PAUSE_S)
                    continue
                self.busy += 1
                batch = asyncio.create_task(self._handle(messages))
                self._running.add(batch)
                batch.add_done_callback(self._running.discard)
        finally:
            for batch in list(self._running):
                batch.cancel()
            for batch in list(self._running):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await batch

    async def _receive(self) -> list[dict[str, Any]]:
        sqs = self._clients.sqs
        wanted = self.source.batch_size
        loop = asyncio.get_running_loop()
        window_ends = loop.time() + self.source.batching_window_s
        messages: list[dict[str, Any]] = []
        while len(messages) < wanted:
            answer = await self._clients.call(
                sqs.receive_message,
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(10, wanted - len(messages)),
                WaitTimeSeconds=0 if messages or self._short_polls() else _LONG_POLL_S,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            received: list[dict[str, Any]] = [dict(m) for m in answer.get("Messages", [])]
            messages += received
            if not messages or loop.time() >= window_ends:
                break
            if not received:
                await asyncio.sleep(min(0.2, max(0.0, window_ends - loop.time())))
        return messages

    def _short_polls(self) -> bool:
        # moto's long poll on a FIFO queue skips, for its whole wait, the message
        # groups in flight when it began: the next doorbell of an execution whose
        # batch is being handled would wait out the poll (a second per step).
        # While a batch is in flight, poll without waiting instead.
        return self._fifo and self.busy > 0

    async def _handle(self, messages: Sequence[dict[str, Any]]) -> None:
        try:
            failed = await self._deliver(messages)
            if self._duplicates and len(failed) < len(messages):
                failed |= await self._deliver(messages)
            handled = [m for m in messages if m["MessageId"] not in failed]
            await self._delete(handled)
        except Exception as error:
            log.warning("settling a batch of %s failed: %r", self.queue_url, error)
        finally:
            self.busy -= 1
            self._slots.release()

    async def _deliver(self, messages: Sequence[dict[str, Any]]) -> set[str]:
        """Invoke the function once; return the ids of the messages to leave in the queue."""
        event = sqs_event(messages, self.queue_arn, self._region)
        everything = {m["MessageId"] for m in messages}
        try:
            answer = await self._invoker.invoke(self.function, event)
        except Crashed as crash:
            log.info("%s; its batch from %s is delivered again", crash, self.queue_url)
            await self._make_visible(messages)
            return everything
        if not self.source.report_batch_item_failures:
            return set()
        failures = (answer or {}).get("batchItemFailures") or []
        named = {str(item.get("itemIdentifier")) for item in failures if isinstance(item, dict)}
        if named - everything:
            # Lambda treats an answer naming an unknown message as a failure of the batch.
            log.warning("%s named unknown messages %s", self.function.name, named - everything)
            return everything
        return named

    async def _make_visible(self, messages: Sequence[dict[str, Any]]) -> None:
        for message in messages:
            with contextlib.suppress(Exception):
                await self._clients.call(
                    self._clients.sqs.change_message_visibility,
                    QueueUrl=self.queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=0,
                )

    async def _delete(self, messages: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            await self._clients.call(
                self._clients.sqs.delete_message_batch,
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": m["ReceiptHandle"]}
                    for index, m in enumerate(chunk)
                ],
            )
