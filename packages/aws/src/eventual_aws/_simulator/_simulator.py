"""``Simulator``: a whole service on a local AWS endpoint, its handlers run in this process."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json as jsonlib
import logging
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from types import ModuleType, TracebackType
from typing import Any, TypeVar

import attrs
import boto3
import httpx

from eventual import Command, EventualError, ExecutionHandle, HttpError, Service, Workflow
from eventual.codec import decode, encode
from eventual.plugins import EventualConfig
from eventual.spi import DefaultClient, add_default_client, reset_client, set_client
from eventual_engine import BackendClient, SystemClock

from .._backend import AwsBackend, AwsBackendConfig
from .._backend._clients import Clients
from .._bus import DeadLetterClient, EventBridgeBus, EventBridgeBusConfig
from .._moto import start_server
from .._plan import FunctionPlan, ServicePlan, plan
from ._events import http_event, match_route
from ._functions import Crashed, Functions, Invoker, LambdaFunctions
from ._mappings import EventSourceMapping
from ._provision import Provisioned, provision
from ._scheduler import SchedulePoller

__all__ = ["Simulator"]

log = logging.getLogger("eventual.aws.simulator")

InputT = TypeVar("InputT")
OutputT = TypeVar("OutputT")

# moto accepts any credentials, LocalStack too; real ones are never needed (or used).
_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@attrs.frozen(kw_only=True)
class _Connection:
    region: str | None
    endpoint_url: str | None
    max_workers: int


class Simulator:
    """Runs a service on a local AWS endpoint: the plan provisioned, the handlers in-process.

    ``endpoint_url=None`` starts moto's server in a thread (the extra
    ``eventual-aws[simulator]``); any other endpoint (LocalStack's
    ``http://localhost:4566``) works the same. Provisioning is idempotent, so a
    simulator started again on the same endpoint finds its resources and state.
    Inside ``async with``, ``wf.start()``, ``sig.send()``, ``ev.publish()`` and
    ``complete_task()`` use the AWS runtime, as they use ``LocalRuntime``.

    Args:
        service: A module path, a module or a ``Service`` loaded from a module.
        endpoint_url: The AWS endpoint, or None to start moto's server.
        region: The region to create resources in.
        duplicate_deliveries: Hand every SQS message to its handler twice, and
            invoke each schedule's target twice for each of its times.
        prefix: The plan's prefix of physical names (the service's name by default).
        shards: Index shard counts by setting (``timer_shards``, ``listing_shards``,
            ``task_shards``, ``inbox_shards``, ``outbox_shards``), as ``plan(shards=...)``
            takes them: the plan sets them on every function's environment, where the
            handlers and the simulator's own client read them, as deployed. A project's
            ``aws_*_shards`` options give them with ``shards_from_config(config)``
            (``eventual local --aws`` passes them); unset ones are 1.
        functions: Runs the handlers (the ``eventual_aws`` handlers by default).

    Example:
        async with Simulator("orders.service") as sim:
            handle = await sim.start(fulfil, order, name="o1")
            print(await handle.result())
    """

    def __init__(
        self,
        service: str | ModuleType | Service,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        duplicate_deliveries: bool = False,
        *,
        prefix: str | None = None,
        functions: Functions | None = None,
        shards: Mapping[str, int] | None = None,
    ) -> None:
        self.service = service if isinstance(service, Service) else Service.load(service)
        self.endpoint_url = endpoint_url
        self.region = region
        self.duplicate_deliveries = duplicate_deliveries
        self.plan: ServicePlan = plan(self.service, prefix=prefix, shards=shards)
        self._functions = functions
        self._server: Any = None
        self._clients: Clients | None = None
        self._provisioned: Provisioned | None = None
        self._invoker: Invoker | None = None
        self._backend: AwsBackend | None = None
        self._client: BackendClient | None = None
        self._bus: EventBridgeBus | None = None
        self._pollers: list[asyncio.Task[None]] = []
        self._mappings: list[EventSourceMapping] = []
        self._schedules: SchedulePoller | None = None
        self._token: Any = None
        self._default: DefaultClient | None = None
        self.environments: dict[str, dict[str, str]] = {}

    # -- lifecycle ---------------------------------------------------------------

    def _start_moto(self) -> str:
        # Started through _moto, which makes moto's transactions isolated from each
        # other as DynamoDB's are (moto's rollback would otherwise undo concurrent steps).
        try:
            self._server, url = start_server()
        except ImportError:
            raise EventualError(
                "the simulator starts moto's server when no endpoint_url is given: install "
                "eventual-aws[simulator] (or pass the URL of LocalStack or a moto server)"
            ) from None
        return url

    async def __aenter__(self) -> Simulator:
        if self.endpoint_url is None:
            self.endpoint_url = self._start_moto()
        try:
            await self._open()
        except BaseException:
            await self._close()
            raise
        return self

    async def _open(self) -> None:
        session = boto3.Session(
            aws_access_key_id=_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=self.region,
        )
        sources = sum(len(f.event_sources) for f in self.plan.functions)
        connection = _Connection(
            region=self.region, endpoint_url=self.endpoint_url, max_workers=sources + 8
        )
        self._clients = clients = Clients(connection, session)
        options: dict[str, Any] = {"endpoint_url": self.endpoint_url, "region_name": self.region}
        iam = session.client("iam", **options)
        sts = session.client("sts", **options)
        for extra in (iam, sts):
            extra.meta.events.register("before-send", clients._count)
        provisioned = await provision(clients, self.plan, region=self.region, iam=iam, sts=sts)
        self._provisioned = provisioned
        for function in provisioned.plan.functions:
            self.environments[function.name] = self._environment(function)
        functions = self._functions or LambdaFunctions()
        self._functions = functions
        arns = {f.name: provisioned.values[f"{f.id}.arn"] for f in provisioned.plan.functions}
        self._invoker = invoker = Invoker(functions, self.environments, arns)
        self._client = self._open_client(session)
        await self._bus_open()
        for function in provisioned.plan.functions:
            for source in function.event_sources:
                self._mappings.append(
                    EventSourceMapping(
                        clients,
                        invoker,
                        function,
                        source,
                        queue_url=provisioned.queue_url(source.queue),
                        queue_arn=provisioned.queue_arn(source.queue),
                        region=self.region,
                        duplicate_deliveries=self.duplicate_deliveries,
                    )
                )
        targets = {arns[f.name]: f for f in provisioned.plan.functions if f.kind == "forwarder"}
        self._schedules = SchedulePoller(
            clients,
            invoker,
            provisioned.plan.schedule_group.name,
            targets,
            self.now,
            duplicate_deliveries=self.duplicate_deliveries,
        )
        for mapping in self._mappings:
            self._pollers.append(
                asyncio.create_task(mapping.run(), name=f"simulator {mapping.function.name}")
            )
        self._pollers.append(asyncio.create_task(self._schedules.run(), name="simulator schedules"))
        self._token = set_client(self._client)
        # Like an open LocalRuntime, the simulator serves code that runs in other
        # tasks (a web app's request handlers) or threads with no client of its own.
        self._default = add_default_client(self._client)

    def _environment(self, function: FunctionPlan) -> dict[str, str]:
        assert self.endpoint_url is not None
        return {
            **function.environment,
            **_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_LAMBDA_FUNCTION_NAME": function.physical_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
        }

    def _open_client(self, session: boto3.Session) -> BackendClient:
        environment = self.environments["api"]
        config = EventualConfig(
            backend="aws",
            event_bus="eventbridge",
            options={"aws_region": self.region, "aws_endpoint_url": self.endpoint_url},
        )
        self._backend = backend = AwsBackend(
            AwsBackendConfig.from_config(config, environment), session=session
        )
        self._bus = bus = EventBridgeBus(
            EventBridgeBusConfig.from_config(config, environment), session=session
        )
        return DeadLetterClient(self.service, backend, clock=SystemClock(), bus=bus)

    async def _bus_open(self) -> None:
        if self._bus is not None:
            await self._bus.open()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._close()

    async def _close(self) -> None:
        if self._default is not None:
            self._default.dispose()
            self._default = None
        if self._token is not None:
            reset_client(self._token)
            self._token = None
        for poller in self._pollers:
            poller.cancel()
        for poller in self._pollers:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await poller
        self._pollers.clear()
        if self._functions is not None:
            with contextlib.suppress(Exception):
                await self._functions.close()
        if self._backend is not None:
            await self._backend.close()
            self._backend = None
        if self._bus is not None:
            await self._bus.close()
            self._bus = None
        if self._clients is not None:
            self._clients.close()
        if self._server is not None:
            self._server.stop()
            self._server = None

    # -- what the simulator offers -------------------------------------------------

    @property
    def client(self) -> BackendClient:
        """The AWS runtime's client, the ambient client inside ``async with``."""
        if self._client is None:
            raise RuntimeError("the simulator is not running; use `async with Simulator(...)`")
        return self._client

    @property
    def provisioned(self) -> Provisioned:
        """What was created: placeholder values and the resolved plan."""
        if self._provisioned is None:
            raise RuntimeError("the simulator is not running; use `async with Simulator(...)`")
        return self._provisioned

    @property
    def requests(self) -> Counter[str]:
        """AWS requests so far, by ``service.Operation``: the simulator's and every function's."""
        total: Counter[str] = Counter()
        if self._clients is not None:
            total.update(self._clients.requests)
        if self._backend is not None:
            total.update(self._backend.requests)
        if self._bus is not None:
            total.update(self._bus.clients.requests)
        if self._functions is not None:
            total.update(self._functions.requests())
        return total

    @property
    def invocations(self) -> Counter[str]:
        """Invocations of each function so far, by plan name."""
        return Counter() if self._invoker is None else Counter(self._invoker.invocations)

    def now(self) -> datetime:
        """The time schedules are compared with (the engine's wall clock)."""
        return SystemClock().now()

    def crash_after(self, kind: str, times: int = 1) -> None:
        """Make the next ``times`` invocations of functions of ``kind`` crash after they ran.

        Their SQS messages are delivered again, a schedule fired again, an HTTP
        request answered 502, as when a Lambda function dies before answering.
        """
        if self._invoker is None:
            raise RuntimeError("the simulator is not running; use `async with Simulator(...)`")
        self._invoker.crash_after(kind, times)

    def crash(self, point: str, times: int = 1) -> None:
        """Make handlers crash inside, at one of their crash points (``"orchestrator.committed"``).

        The points are ``eventual_aws._lambda.CRASH_POINTS``; the invocation dies
        there as a process would, and what it was handed is delivered again.

        Raises:
            ValueError: The handlers have no such point.
            RuntimeError: The handlers in use have no crash points.
        """
        arm = getattr(self._functions, "arm", None)
        if arm is None:
            raise RuntimeError("these handlers have no crash points; use crash_after(kind)")
        kind = point.partition(".")[0]
        functions = [f for f in self.plan.functions if f.kind == kind]
        if not functions:
            raise ValueError(f"the plan of {self.plan.service!r} has no {kind!r} function")
        for function in functions:  # each function of the kind crashes ``times`` times
            arm(point, self.environments[function.name], times)

    async def settle(self, *, quiet: float = 0.3, timeout: float = 30.0) -> bool:
        """Wait until the functions have nothing left to do now; return whether they got there.

        Due schedules are fired first; then the consumed queues are watched until
        none holds a visible or in-flight message and no invocation runs, for
        ``quiet`` seconds. Messages delayed into the future (timers not yet due)
        do not count, as ``Engine.run_until_idle`` fires no future timer.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        if self._schedules is not None:
            await self._schedules.fire_due()
        quiet_since: float | None = None
        while loop.time() < deadline:
            if await self._idle():
                quiet_since = quiet_since or loop.time()
                if loop.time() - quiet_since >= quiet:
                    return True
            else:
                quiet_since = None
            await asyncio.sleep(0.05)
        log.warning("the simulator's functions were still busy after %s s", timeout)
        return False

    async def _idle(self) -> bool:
        if any(mapping.busy for mapping in self._mappings):
            return False
        clients = self._clients
        assert clients is not None
        for mapping in self._mappings:
            answer = await clients.call(
                clients.sqs.get_queue_attributes,
                QueueUrl=mapping.queue_url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )
            if any(int(v) for v in answer.get("Attributes", {}).values()):
                return False
        return not any(mapping.busy for mapping in self._mappings)

    @property
    def engine(self) -> BackendClient:
        """The client an ``HttpApp`` serves (the same as :attr:`client`)."""
        return self.client

    async def start(
        self, workflow: Workflow[InputT, OutputT], input: InputT, name: str | None = None
    ) -> ExecutionHandle[OutputT]:
        """Start an execution of ``workflow`` and return its handle."""
        id_ = await self.client.start_execution(workflow.name, workflow.encode_input(input), name)
        return ExecutionHandle(id_, control=self.client, result_type=workflow.output_type)

    def execution(self, execution_id: str) -> ExecutionHandle[Any]:
        """Return a handle on an execution by id."""
        workflow = self.service.workflows.get(execution_id.split("/", 1)[0])
        result_type = workflow.output_type if workflow is not None else Any
        return ExecutionHandle(execution_id, control=self.client, result_type=result_type)

    async def call(self, command: Command[InputT, OutputT], input: InputT) -> OutputT:
        """Call a command through the HTTP API and its function; return its decoded output.

        Raises:
            eventual.HttpError: The command answered an error status.
        """
        response = await self.http(
            "POST", f"/_rpc/{command.name}", json=encode(input, command.input_type, path="input")
        )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not response.is_success:
            error = body.get("error") if isinstance(body, dict) else None
            detail = body.get("detail") if isinstance(body, dict) else None
            message = str(error or (body or {}).get("message") or response.reason_phrase)
            raise HttpError(response.status_code, message, detail)
        output: OutputT = decode(body, command.output_type, path="output")
        return output

    async def http(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send a request to the service's HTTP API, as API Gateway would hand it to the function.

        A request matching no route gets API Gateway's 404 ``{"message": "Not Found"}``;
        a function that fails gets its 500 ``{"message": "Internal Server Error"}``.
        """
        path, _, query = path.partition("?")
        body = content.encode() if isinstance(content, str) else (content or b"")
        sent = dict(headers or {})
        if json is not None:
            body = jsonlib.dumps(json).encode()
            sent.setdefault("content-type", "application/json")
        if body:
            sent.setdefault("content-length", str(len(body)))
        request = httpx.Request(method.upper(), f"https://{self.plan.http_api.name}{path}")
        provisioned = self.provisioned
        matched = match_route(provisioned.plan.http_api.routes, method, path)
        if matched is None:
            return _gateway_answer(404, "Not Found", request)
        route, parameters = matched
        event = http_event(
            route=route,
            parameters=parameters,
            method=method,
            path=path,
            query=query,
            headers=sent,
            body=body,
            api_id=provisioned.values["api.id"],
            account=provisioned.account,
        )
        function = provisioned.plan.function(route.function)
        assert self._invoker is not None
        try:
            answer = await self._invoker.invoke(function, event)
        except Crashed:
            return _gateway_answer(500, "Internal Server Error", request)
        return _response_of(answer, request)


def _gateway_answer(status: int, message: str, request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        status,
        headers={"content-type": "application/json"},
        content=jsonlib.dumps({"message": message}).encode(),
        request=request,
    )


def _response_of(answer: Mapping[str, Any] | None, request: httpx.Request) -> httpx.Response:
    if not isinstance(answer, Mapping) or "statusCode" not in answer:
        # API Gateway's 2.0 format reads a bare value as a 200 JSON body.
        return httpx.Response(200, json=answer, request=request)
    body = answer.get("body") or ""
    content = base64.b64decode(body) if answer.get("isBase64Encoded") else str(body).encode()
    headers = [(str(k), str(v)) for k, v in (answer.get("headers") or {}).items()]
    headers += [("set-cookie", str(cookie)) for cookie in answer.get("cookies") or []]
    return httpx.Response(
        int(answer["statusCode"]), headers=headers, content=content, request=request
    )
