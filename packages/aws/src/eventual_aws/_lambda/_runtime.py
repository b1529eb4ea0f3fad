"""What a function needs, built once per process and per configuration.

A Lambda execution environment runs many invocations: the service's import,
the boto3 clients (their connections and credentials), the orchestrator's cache
of live workflow instances and the HTTP application are built on the first and
reused by the others. The simulator runs every function of a service in one
process, so runtimes are kept per environment: the functions of one service
differ only in ``EVENTUAL_AWS_TASK`` or ``EVENTUAL_AWS_SUBSCRIPTION`` and share
the rest of the plan's configuration.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import boto3

from eventual import EventualError, Service
from eventual.plugins import EventualConfig
from eventual_engine import Orchestrator, SystemClock, TaskWorker, TimerWorker

from .._backend import AwsBackend, AwsBackendConfig
from .._bus import Consumer, DeadLetterClient, EventBridgeBus, EventBridgeBusConfig
from .._bus._store import BusStore
from ._faults import Faults

if TYPE_CHECKING:
    from eventual_engine import HttpApp

__all__ = ["Runtime", "environment_key"]

_SETTINGS = ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID")
_CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
_WORKER_LEASE = timedelta(minutes=15)


def environment_key(environment: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """Return what tells two functions' configurations apart (``EVENTUAL_*`` and where AWS is)."""
    return tuple(
        sorted(
            (name, value)
            for name, value in environment.items()
            if name.startswith("EVENTUAL_") or name in _SETTINGS
        )
    )


def _session(environment: Mapping[str, str]) -> boto3.Session:
    region = environment.get("AWS_REGION") or environment.get("AWS_DEFAULT_REGION")
    if environment is os.environ or not environment.get("AWS_ACCESS_KEY_ID"):
        return boto3.Session(region_name=region)
    # A configuration given as a mapping (the simulator's) carries its own credentials.
    key, secret, token = (environment.get(name) for name in _CREDENTIALS)
    return boto3.Session(
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        region_name=region,
    )


def _options(environment: Mapping[str, str]) -> dict[str, object]:
    options: dict[str, object] = {}
    region = environment.get("AWS_REGION") or environment.get("AWS_DEFAULT_REGION")
    if region:
        options["aws_region"] = region
    if environment.get("AWS_ENDPOINT_URL"):
        options["aws_endpoint_url"] = environment["AWS_ENDPOINT_URL"]
    return options


class Runtime:
    """One function's service, backend, bus, client and workers.

    Args:
        environment: The function's configuration (the plan's ``environment``;
            ``os.environ`` on Lambda). ``AWS_ENDPOINT_URL`` points every client at
            a local endpoint (moto, LocalStack).

    Raises:
        EventualError: A variable the plan sets is missing (the message names it).
    """

    def __init__(self, environment: Mapping[str, str]) -> None:
        module = environment.get("EVENTUAL_SERVICE")
        if not module:
            raise EventualError(
                "EVENTUAL_SERVICE is not set: the plan sets it on every function to the "
                "service's module path (e.g. orders.service)"
            )
        self.environment = dict(environment)
        self.service = Service.load(module, name=environment.get("EVENTUAL_SERVICE_NAME") or None)
        config = EventualConfig(
            backend="aws", event_bus="eventbridge", options=_options(environment)
        )
        session = _session(environment)
        self.backend = AwsBackend(
            AwsBackendConfig.from_config(config, environment), session=session
        )
        self.bus = EventBridgeBus(
            EventBridgeBusConfig.from_config(config, environment), clients=self.backend.clients
        )
        self.clock = SystemClock()
        self.owner = f"{environment.get('AWS_LAMBDA_FUNCTION_NAME', 'function')}:{uuid.uuid4().hex}"
        # The api function's system API lists and redrives the bus's dead letters.
        self.client = DeadLetterClient(self.service, self.backend, clock=self.clock, bus=self.bus)
        self.orchestrator = Orchestrator(self.service, self.backend, self.clock)
        self.faults = Faults()
        self.tasks = TaskWorker(
            self.service,
            self.backend,
            self.clock,
            self.client,
            owner=self.owner,
            lease=_WORKER_LEASE,
            on_outcome=self._before_outcome,
        )
        self.timers = TimerWorker(
            self.service, self.backend, self.clock, owner=self.owner, lease=_WORKER_LEASE
        )
        self.task = environment.get("EVENTUAL_AWS_TASK") or None
        self.subscription = environment.get("EVENTUAL_AWS_SUBSCRIPTION") or None
        self._consumer: Consumer | None = None
        self._app: HttpApp | None = None

    async def _before_outcome(self, *_: object) -> bool:
        # The task worker offers each outcome here before queueing it: the one
        # moment between a body's return and its outcome's record.
        self.faults.reach("task.ran")
        return False

    @property
    def requests(self) -> Counter[str]:
        """AWS requests this runtime's clients sent, by ``"service.Operation"``."""
        return self.backend.clients.requests

    @property
    def consumer(self) -> Consumer:
        """Runs subscription handlers (built on first use)."""
        if self._consumer is None:
            config = self.bus.config
            store = BusStore(
                self.backend.clients,
                config.table,
                self.service.name,
                dedup_window=config.dedup_window,
            )
            self._consumer = Consumer(
                self.service,
                self.client,
                store,
                self.now,
                reach=lambda point: self.faults.reach(f"subscription.{point}"),
            )
        return self._consumer

    @property
    def app(self) -> HttpApp:
        """The service's HTTP application over this runtime's client (built on first use)."""
        if self._app is None:
            from eventual_engine import HttpApp, HttpOptions

            # API Gateway checks the system routes' IAM signatures before the
            # function runs, so the app asks for no token of its own.
            self._app = HttpApp(self.client, options=HttpOptions(token=None))
        return self._app

    def now(self) -> datetime:
        """Return the time on the runtime's clock."""
        return self.clock.now()

    async def close(self) -> None:
        """Close the clients and their threads."""
        await self.backend.close()
