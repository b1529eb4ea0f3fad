"""Running a Pulumi program under Pulumi's mocks, offline, leaving no event loop behind.

The same approach as eventual-pulumi's tests (its conftest's ``run_program``):
Pulumi's runtime runs on the thread's current event loop and hands each resource
to the mock monitor through the loop's default executor, whose worker threads
each get an event loop that the monitor never closes. Collected unclosed, those
loops warn, and ``filterwarnings = error`` fails the run. So the program runs on
a loop of its own, whose executor closes what each call left on its thread, and
the thread is left without a current loop, as pytest-asyncio's runners leave it.
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

_T = TypeVar("_T")


@attrs.frozen(kw_only=True)
class Resource:
    """One resource the program registered, with its resolved inputs."""

    type: str
    name: str
    inputs: dict[str, Any]


@attrs.define
class Recorder(pulumi.runtime.Mocks):
    """Mocks recording each resource; outputs are its inputs plus a name and an ARN."""

    resources: list[Resource] = attrs.field(factory=list)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        """Record a resource and answer its outputs."""
        inputs = dict(args.inputs)
        self.resources.append(Resource(type=args.typ, name=args.name, inputs=inputs))
        physical = str(inputs.get("name", args.name))
        kind = args.typ.split(":")[1].split("/")[0]
        outputs = {
            **inputs,
            "name": physical,
            "arn": f"arn:aws:{kind}:{REGION}:{ACCOUNT}:{physical}",
        }
        if args.typ == "aws:apigatewayv2/api:Api":
            outputs["apiEndpoint"] = f"https://abc123.execute-api.{REGION}.amazonaws.com"
            outputs["executionArn"] = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:abc123"
        return f"{args.name}-id", outputs

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        """Answer the AWS invokes the component makes: partition, region, caller identity."""
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
        """Return the recorded resources of one type."""
        return [r for r in self.resources if r.type == type_]


def run_program(program: Callable[[], object], *, project: str, stack: str) -> Recorder:
    """Run ``program`` under fresh mocks until every output settles; return what it registered."""
    recorder = Recorder()
    policy = asyncio.get_event_loop_policy()
    loop = asyncio.new_event_loop()
    executor = _LoopClosingExecutor(max_workers=4, thread_name_prefix="pulumi-mocks")
    loop.set_default_executor(executor)
    policy.set_event_loop(loop)
    try:
        pulumi.runtime.set_mocks(recorder, project=project, stack=stack, preview=False)
        # pulumi.runtime.test is untyped: it wraps a function and awaits every output.
        pulumi.runtime.test(program)()  # type: ignore[no-untyped-call]
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
