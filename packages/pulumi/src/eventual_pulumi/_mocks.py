"""Running a Pulumi program under Pulumi's mocks, offline, leaving no event loop behind.

Pulumi's runtime runs on the thread's current event loop and sends each
resource to the mock monitor through the loop's default executor, where the
monitor gives every worker thread an event loop of its own and never closes it
(``pulumi.runtime.mocks.MockMonitor.RegisterResource`` calls
``_ensure_event_loop``). Left alone, those loops are collected unclosed when the
executor's threads end, and a test run with ``filterwarnings = error`` fails. So
each program runs on a loop of its own whose executor closes what a call left on
its thread. The thread is left without a current loop, as pytest-asyncio's
runners leave it (asking for the previous one would make one on the main thread,
to be collected unclosed in turn).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import attrs
import pulumi

ACCOUNT = "123456789012"
REGION = "eu-west-1"
API_ENDPOINT = f"https://abc123.execute-api.{REGION}.amazonaws.com"

_T = TypeVar("_T")


@attrs.frozen(kw_only=True)
class Resource:
    """One resource a program registered.

    Attributes:
        type: The resource's Pulumi type token, such as ``aws:sqs/queue:Queue``.
        name: The resource's logical name.
        inputs: Its inputs, resolved (outputs of other resources filled in).
    """

    type: str
    name: str
    inputs: dict[str, Any]


@attrs.define
class Recorder(pulumi.runtime.Mocks):
    """Mocks that record each resource and answer the attributes AWS would compute.

    A resource's outputs are its inputs plus a ``name`` and an ``arn`` in account
    ``ACCOUNT`` and region ``REGION``; queues get a ``url``, buckets a generated
    ``bucket`` name, HTTP APIs ``API_ENDPOINT``, functions an ``invokeArn``.
    The AWS invokes (partition, region, caller identity) answer the same account
    and region.

    Attributes:
        resources: Every resource registered so far, in order.
    """

    resources: list[Resource] = attrs.field(factory=list)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        """Record a resource and answer its id and outputs."""
        inputs = dict(args.inputs)
        self.resources.append(Resource(type=args.typ, name=args.name, inputs=inputs))
        physical = str(inputs.get("name", args.name))
        kind = args.typ.split(":")[1].split("/")[0]
        outputs = {**inputs, "name": physical}
        outputs["arn"] = f"arn:aws:{kind}:{REGION}:{ACCOUNT}:{physical}"
        if args.typ == "aws:sqs/queue:Queue":
            outputs["url"] = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{physical}"
        elif args.typ == "aws:s3/bucket:Bucket":
            outputs["bucket"] = f"{args.name}-a1b2c3"
            outputs["arn"] = f"arn:aws:s3:::{args.name}-a1b2c3"
        elif args.typ == "aws:apigatewayv2/api:Api":
            outputs["apiEndpoint"] = API_ENDPOINT
            outputs["executionArn"] = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:abc123"
        elif args.typ == "aws:lambda/function:Function":
            outputs["invokeArn"] = f"arn:aws:apigateway:{REGION}:lambda:path/{physical}"
        elif args.typ == "aws:cloudwatch/logGroup:LogGroup":
            outputs["arn"] = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{physical}"
        return f"{args.name}-id", outputs

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        """Answer the AWS invokes: partition, region, caller identity; others answer nothing."""
        answers: dict[str, dict[str, Any]] = {
            "aws:index/getPartition:getPartition": {
                "partition": "aws",
                "dnsSuffix": "amazonaws.com",
            },
            "aws:index/getRegion:getRegion": {"region": REGION, "name": REGION},
            "aws:index/getCallerIdentity:getCallerIdentity": {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/test",
                "userId": "test",
            },
        }
        return answers.get(args.token, {}), []

    def of_type(self, type_: str) -> list[Resource]:
        """Return the recorded resources of one type token, in the order they were registered."""
        return [r for r in self.resources if r.type == type_]


def run_program(
    program: Callable[[], object], *, project: str = "eventual", stack: str = "test"
) -> Recorder:
    """Run a Pulumi program under fresh mocks until every output settles.

    Args:
        program: The program, called once with no arguments, as ``pulumi up``
            would run ``__main__.py``; what it returns is ignored.
        project: The Pulumi project name the program sees.
        stack: The stack name the program sees.

    Returns:
        The recorder, with every resource the program registered.
    """
    recorder = Recorder()
    policy = asyncio.get_event_loop_policy()
    loop = asyncio.new_event_loop()
    executor = _LoopClosingExecutor(max_workers=4, thread_name_prefix="pulumi-mocks")
    loop.set_default_executor(executor)
    policy.set_event_loop(loop)
    try:
        pulumi.runtime.set_mocks(recorder, project=project, stack=stack, preview=False)
        # pulumi.runtime.test is untyped: it wraps a function and awaits every output.
        pulumi.runtime.test(lambda: program() and None)()  # type: ignore[no-untyped-call]
    finally:
        executor.shutdown(wait=True)
        loop.close()
        policy.set_event_loop(None)
    return recorder


class _LoopClosingExecutor(ThreadPoolExecutor):
    """A thread pool whose calls close the event loop they leave set on their thread."""

    def submit(
        self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[_T]:
        """Schedule ``fn``; the worker closes and unsets a loop the call left on its thread."""
        return super().submit(_closing_thread_loop, fn, *args, **kwargs)


def _closing_thread_loop(fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> _T:
    try:
        return fn(*args, **kwargs)
    finally:
        policy = asyncio.get_event_loop_policy()
        try:
            loop = policy.get_event_loop()
        except RuntimeError:  # a worker thread without a loop: nothing to close
            loop = None
        if loop is not None:
            loop.close()
            policy.set_event_loop(None)
