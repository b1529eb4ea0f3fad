"""Events and subscriptions: messaging between and within services."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine, Mapping
from datetime import timedelta
from typing import Any, Generic, TypeVar, cast, overload

from ._codec import decode, encode
from ._definition import (
    Definition,
    check_name,
    parameters,
    positive_duration_or_none,
    positive_int_or_none,
    resolved_hints,
    source_of,
)
from ._filter import EventFilter, build_conditions
from ._retry import RetryPolicy
from ._runtime import current_workflow_runtime, require_client

__all__ = ["Event", "Subscription", "event", "subscription"]

T = TypeVar("T")


class Event(Definition, Generic[T]):
    """An event definition: a name and a payload type.

    Events are matched by name across services, so a service may subscribe to an
    event another service publishes by declaring the same name and type.

    Attributes:
        payload_type: The type payloads are checked against and decoded to.
    """

    kind = "event"

    def __init__(self, name: str, payload_type: type[T] | Any) -> None:
        self.name = check_name("event", name)
        self.payload_type = payload_type
        self.source = name

    def __repr__(self) -> str:
        return f"<event {self.name}>"

    def encode_payload(self, payload: T) -> Any:
        """Encode a payload by the event's type.

        Raises:
            ValidationError: The payload does not fit the type; the message names
                the event and the field, e.g. ``event OrderPlaced.order_id: ...``.
        """
        return encode(payload, self.payload_type, path=f"event {self.name}")

    def decode_payload(self, data: Any) -> T:
        """Decode a JSON payload into the event's type (raises ``ValidationError``)."""
        # The codec built a value of the declared type, which mypy only sees as Any.
        return cast(T, decode(data, self.payload_type, path=f"event {self.name}"))

    def where(
        self, fields: Mapping[str, object] | None = None, /, **more: object
    ) -> EventFilter[T]:
        """Return this event filtered on payload fields, for ``@subscription``.

        Each keyword is a field and its condition; nested fields are given as
        dotted paths in a mapping. All conditions must hold. A condition is a value
        (exact match), a list (any of its items), or a matcher: ``prefix("eu-")``,
        ``exists()``, ``numeric(">", 10)``, ``between(1, 5)``. Each filter is an
        EventBridge event pattern (see :meth:`EventFilter.pattern`)::

            @subscription(order_placed.where(region=["eu", "uk"], total=numeric(">", 100)))
            async def big_european_orders(placed: OrderPlaced) -> None: ...

            order_placed.where({"address.country": prefix("D")})

        Raises:
            FilterError: A field is not in the payload type, a value does not fit
                the field's type, or the condition has no EventBridge form.
        """
        return EventFilter(self, build_conditions(self, fields, more))

    def pattern(self) -> dict[str, Any]:
        """Return the EventBridge event pattern matching every event of this name."""
        return {"detail-type": [self.name]}

    async def publish(self, *payloads: T) -> None:
        """Publish one event per payload.

        Inside a workflow the publish is recorded and delivered exactly once;
        elsewhere it goes to the active runtime's event bus.
        """
        if not payloads:
            return
        events = [(self.name, self.encode_payload(p)) for p in payloads]
        runtime = current_workflow_runtime()
        if runtime is not None:
            await runtime.publish(events)
        else:
            await require_client(f"{self.name}.publish()").publish_events(events)


class Subscription(Definition, Generic[T]):
    """A handler called with each event of the events it subscribes to.

    Attributes:
        fn: The handler, an ``async def`` taking one payload.
        events: The events it receives (each once, in the order given).
        filters: One per event or filter given: what is received is the union of
            their patterns.
        retry: Retry policy for failed deliveries; ``None`` means one attempt.
        timeout: Deployment option: the time one delivery may take (its
            function's timeout).
        memory: Deployment option: memory of its own function, in MB.
        concurrency: Deployment option: the most deliveries handled at once.
    """

    kind = "subscription"

    def __init__(
        self,
        fn: Callable[[T], Coroutine[Any, Any, None]],
        events: tuple[Event[Any] | EventFilter[Any], ...],
        *,
        name: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: timedelta | float | None = None,
        memory: int | None = None,
        concurrency: int | None = None,
    ) -> None:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"@subscription needs an async def, got {source_of(fn)}")
        if len(parameters(fn)) != 1:
            raise TypeError(f"subscription {source_of(fn)} must take exactly one payload parameter")
        if not events:
            raise TypeError(f"subscription {source_of(fn)} names no events")
        for e in events:
            if not isinstance(e, Event | EventFilter):
                raise TypeError(
                    f"subscription {source_of(fn)}: {e!r} is neither an event nor a filter "
                    "(event.where(...))"
                )
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise TypeError(
                f"subscription {source_of(fn)}: retry must be a RetryPolicy, got {retry!r}"
            )
        self.fn = fn
        self.filters: tuple[EventFilter[Any], ...] = tuple(
            e if isinstance(e, EventFilter) else EventFilter(e, {}) for e in events
        )
        unique: dict[int, Event[Any]] = {}
        named: dict[str, Event[Any]] = {}
        for f in self.filters:
            unique.setdefault(id(f.event), f.event)
            first = named.setdefault(f.event.name, f.event)
            if first.payload_type != f.event.payload_type:
                # Deliveries are matched by name: which type would decode one?
                raise TypeError(
                    f"subscription {source_of(fn)} names event {f.event.name!r} twice, "
                    f"with types {_type_name(first.payload_type)} and "
                    f"{_type_name(f.event.payload_type)}; subscribe with one of them"
                )
        self.events: tuple[Event[Any], ...] = tuple(unique.values())
        self.name = check_name("subscription", name or fn.__name__)
        self.source = source_of(fn)
        self.retry = retry
        what = f"subscription {self.name!r}"
        self.timeout = positive_duration_or_none(f"{what} timeout", timeout)
        self.memory = positive_int_or_none(f"{what} memory", memory)
        self.concurrency = positive_int_or_none(f"{what} concurrency", concurrency)
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        return f"<subscription {self.name}>"

    @functools.cached_property
    def payload_type(self) -> Any:
        """The handler's declared payload type (``Any`` when not annotated)."""
        hints = resolved_hints(self.fn)
        return hints.get(parameters(self.fn)[0].name, Any)

    def patterns(self) -> list[dict[str, Any]]:
        """Return the EventBridge event patterns of the subscription (any one matches)."""
        return [f.pattern() if f.conditions else f.event.pattern() for f in self.filters]

    def event_named(self, name: str) -> Event[Any] | None:
        """Return the subscribed event called ``name`` (its type decodes payloads)."""
        return next((e for e in self.events if e.name == name), None)

    async def __call__(self, payload: T) -> None:
        await self.fn(payload)


def _type_name(type_: Any) -> str:
    return getattr(type_, "__name__", None) or repr(type_)


def subscription(
    *events: Event[Any] | EventFilter[Any],
    name: str | None = None,
    retry: RetryPolicy | None = None,
    timeout: timedelta | float | None = None,
    memory: int | None = None,
    concurrency: int | None = None,
) -> Callable[[Callable[[T], Coroutine[Any, Any, None]]], Subscription[T]]:
    """Subscribe a handler to one or more events.

    Args:
        events: The events delivered to the handler, or filters on them
            (``event.where(...)``); an event matching any of them is delivered once.
        name: The subscription's name; defaults to the function's name.
        retry: Retry policy for failed deliveries; without one, a failed delivery
            goes to the dead-letter store at once.
        timeout: Deployment option: the time one delivery may take when deployed
            (its function's timeout; timedelta or seconds).
        memory: Deployment option: memory of its own function, in MB (on AWS,
            128 to 10240).
        concurrency: Deployment option: the most deliveries handled at once when
            deployed (its function's reserved concurrency).

    Running locally ignores the deployment options.
    """

    def decorate(fn: Callable[[T], Coroutine[Any, Any, None]]) -> Subscription[T]:
        return Subscription(
            fn,
            events,
            name=name,
            retry=retry,
            timeout=timeout,
            memory=memory,
            concurrency=concurrency,
        )

    return decorate


@overload
def event(name: str, payload_type: type[T]) -> Event[T]: ...
@overload
def event(name: str, payload_type: Any) -> Event[Any]: ...
def event(name: str, payload_type: Any) -> Event[Any]:
    """Define an event.

    Args:
        name: The event's name, shared by every service that publishes or receives it.
        payload_type: The payload's type.
    """
    return Event(name, payload_type)
