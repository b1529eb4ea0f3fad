"""The plan grants what the aws backend actually calls, measured on a local endpoint (moto)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import boto3

from eventual import ExecutionStatus, Service
from eventual_aws import ServicePlan, plan
from eventual_aws._backend import AwsBackend, AwsBackendConfig
from eventual_engine import Engine, ManualClock

from .conftest import REGION, MakePackage

SERVICE = """
    import asyncio
    from datetime import timedelta
    from eventual import RetryPolicy, logger, signal, sleep, task, workflow

    approval = signal("approval", bool)

    @task(retry=RetryPolicy(max_attempts=2, initial_interval=timedelta(minutes=20)))
    async def double(x: int) -> int:
        logger.info("doubling %d", x)
        return x * 2

    @workflow
    async def child(x: int) -> int:
        return await double(x) + 1

    @workflow(timeout=timedelta(days=2))
    async def order(n: int) -> str:
        doubled = await asyncio.gather(*(double(i) for i in range(n)))
        await sleep(timedelta(hours=1))
        await sleep(timedelta(minutes=5))
        approved = await approval.expect(timeout=timedelta(days=1))
        logger.info("approved: %s", approved)
        extra = await child(sum(doubled))
        return f"{'approved' if approved else 'rejected'}:{extra}"
"""

ACCOUNT = "123456789012"
# IAM authorises these operations by the actions of their parts.
ACTIONS = {
    "dynamodb.TransactWriteItems": (
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    ),
    "sqs.SendMessageBatch": ("sqs:SendMessage",),
}


def provision(p: ServicePlan, endpoint: str, session: boto3.Session) -> AwsBackendConfig:
    """Create the plan's queues and schedule group; return the runtime's settings."""
    sqs = session.client("sqs", endpoint_url=endpoint)
    urls = {}
    for queue in p.queues:
        if queue.fifo:
            answer = sqs.create_queue(QueueName=queue.name, Attributes={"FifoQueue": "true"})
        else:
            answer = sqs.create_queue(QueueName=queue.name)
        urls[queue.id] = answer["QueueUrl"]
    session.client("scheduler", endpoint_url=endpoint).create_schedule_group(
        Name=p.schedule_group.name
    )
    return AwsBackendConfig(
        table=f"{p.prefix}-table",
        bucket=f"{p.prefix}-bucket",
        workflow_queue_url=urls["queue.workflow"],
        timer_queue_url=urls["queue.timer"],
        queue_prefix=p.prefix,
        schedule_group=p.schedule_group.name,
        scheduler_role_arn=f"arn:aws:iam::{ACCOUNT}:role/{p.prefix}-scheduler",
        forwarder_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{p.function('forwarder').physical_name}",
        forwarder_dlq_arn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:{p.queue('queue.forwarder-dlq').name}",
        region=REGION,
        endpoint_url=endpoint,
    )


async def test_every_call_of_the_runtime_is_granted_to_every_function(
    make_service: MakePackage, endpoint: str, session: boto3.Session
) -> None:
    """Each AWS operation a workflow's run makes is allowed by every function's statements."""
    module = make_service(SERVICE)
    p = plan(module, prefix="runtime")
    backend = AwsBackend(provision(p, endpoint, session), session=session)
    await backend.create_resources()
    provisioning = Counter(backend.requests)
    try:
        # Doorbells are delayed by real time, so the clock starts now.
        clock = ManualClock(datetime.now(UTC))
        engine = Engine(Service.load(module), backend, clock=clock)
        execution = await engine.start_execution("order", 3, "o1")
        await engine.run_until_idle()
        await engine.advance_to(clock.now() + timedelta(hours=1, minutes=5))
        await engine.send_signal(execution, "approval", True)
        await engine.run_until_idle()
        record = await engine.execution_record(execution)
        assert record.status is ExecutionStatus.SUCCEEDED, (record, backend.requests)
        # The system API's read of an execution's log lines.
        lines = await backend.logs.read_logs(execution)
        assert [e.message for e in lines][-1] == "approved: True"
    finally:
        await backend.close()
    calls = set(backend.requests - provisioning)
    # The run rang every kind of doorbell, a schedule for the far timers included.
    assert {"sqs.SendMessageBatch", "scheduler.CreateSchedule"} <= calls
    # ... and kept log lines, each batch with its three requests.
    assert {"dynamodb.BatchGetItem", "dynamodb.UpdateItem", "dynamodb.BatchWriteItem"} <= calls
    needed = {a for call in calls for a in ACTIONS.get(call, (call.replace(".", ":", 1),))}
    for function in p.functions:
        granted = {a for s in function.statements for a in s.actions}
        assert needed <= granted, (function.name, needed - granted)
