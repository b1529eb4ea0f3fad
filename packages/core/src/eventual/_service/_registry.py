"""The registry: a service's definitions by kind and name, each name used once."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from types import MappingProxyType, ModuleType
from typing import Any, TypeVar

import attrs

from .._codec import JsonValue
from .._command import Command
from .._definition import Definition, check_name
from .._errors import EventualError
from .._event import Event, Subscription
from .._http import Middleware, Route, RoutePattern
from .._signal import Signal
from .._task import Task
from .._workflow import Workflow
from ._discovery import Place, discover, import_module, places_of
from ._manifest import build_manifest

__all__ = ["DefinitionNotFound", "DuplicateDefinition", "Service"]

D = TypeVar("D", bound=Definition)


class DuplicateDefinition(EventualError, ValueError):
    """Two distinct definitions of one service clash.

    They have the same kind and name, or serve the same HTTP method and path.
    """


class DefinitionNotFound(EventualError, LookupError):
    """A service has no definition of the requested kind and name."""


def _route_shape(method: str, pattern: RoutePattern) -> tuple[str, str]:
    """Return what makes two routes serve the same requests: method and path shape."""
    segments = pattern.pattern.strip("/").split("/")
    shape = "/".join("{}" if s.startswith("{") else s for s in segments)
    return method, "/" + shape


def _check_unique(places: list[Place]) -> None:
    by_name: dict[tuple[str, str], Place] = {}
    for place in places:
        definition = place.definition
        if isinstance(definition, Middleware | Route):
            continue  # Middleware need not be unique; routes are checked by endpoint.
        key = (definition.kind, definition.name)
        other = by_name.setdefault(key, place)
        if other is not place:
            raise DuplicateDefinition(
                f"{other.label} and {place.label} both define {definition.kind} "
                f"{definition.name!r}; rename one of them (a service needs unique names)"
            )
    endpoints: dict[tuple[str, str], tuple[Place, str]] = {}

    def claim(method: str, pattern: RoutePattern, place: Place, what: str) -> None:
        other, other_what = endpoints.setdefault(_route_shape(method, pattern), (place, what))
        if other is place:
            return
        if other_what == what:
            problem = f"{other.label} and {place.label} both define {what}"
        else:
            problem = (
                f"{other.label} ({other_what}) and {place.label} ({what}) "
                f"both serve {method} {pattern.pattern}"
            )
        raise DuplicateDefinition(f"{problem}; change the method or path of one of them")

    for place in places:
        definition = place.definition
        if isinstance(definition, Route):
            claim(definition.method, definition.path, place, f"route {definition.name!r}")
        elif isinstance(definition, Command):
            rpc = RoutePattern(f"/_rpc/{definition.name}")
            claim("POST", rpc, place, f"command {definition.name!r} RPC")
            if definition.path is not None:
                what = f"command {definition.name!r} REST route"
                claim(definition.method, definition.path, place, what)


def _by_name(places: Iterable[Place], kind: type[D]) -> Mapping[str, D]:
    return MappingProxyType(
        {p.definition.name: p.definition for p in places if isinstance(p.definition, kind)}
    )


class Service:
    """The definitions of one service: workflows, tasks, signals, events, APIs.

    Build one with :meth:`load` (from a module or package) or
    :meth:`from_definitions` (from objects, e.g. in a test).
    """

    def __init__(self, *, name: str, module: str | None, places: Iterable[Place]) -> None:
        """Use :meth:`load` or :meth:`from_definitions` instead."""
        self._name = check_name("service", name)
        self._module = module
        self._places = {id(place.definition): place for place in places}
        ordered = list(self._places.values())
        _check_unique(ordered)
        self._workflows = _by_name(ordered, Workflow)
        self._tasks = _by_name(ordered, Task)
        self._signals = _by_name(ordered, Signal)
        self._events = _by_name(ordered, Event)
        self._subscriptions = _by_name(ordered, Subscription)
        self._commands = _by_name(ordered, Command)
        self._routes = _by_name(ordered, Route)
        middleware = sorted(
            (p for p in ordered if isinstance(p.definition, Middleware)), key=lambda p: p.order
        )
        self._middleware = tuple(
            p.definition for p in middleware if isinstance(p.definition, Middleware)
        )

    @classmethod
    def load(cls, target: str | ModuleType, *, name: str | None = None) -> Service:
        """Import a service module or package and collect its definitions.

        A package's submodules are imported too, except tests and ``__main__``
        (see the module documentation for the exact rule).

        Args:
            target: A dotted module path (``"orders.service"``) or a module.
            name: The service's name; defaults to the top-level package name
                (``"orders"`` for ``"orders.service"``).

        Raises:
            ServiceLoadError: A module could not be imported (missing, or its code
                raised); the message names the module and the cause.
            DuplicateDefinition: Two definitions share a kind and name, or an
                HTTP method and path.
        """
        if isinstance(target, ModuleType):
            root = target
        elif isinstance(target, str):
            root = import_module(target)
        else:
            raise TypeError(f"Service.load takes a dotted module path or a module, got {target!r}")
        places = discover(root)
        return cls(
            name=name or root.__name__.partition(".")[0], module=root.__name__, places=places
        )

    @classmethod
    def from_definitions(cls, name: str, definitions: Iterable[Definition]) -> Service:
        """Build a service from definition objects, without a module (for tests).

        Import paths come from each definition's ``source``; middleware keeps the
        order given. Events received by a subscription are added when missing.

        Args:
            name: The service's name.
            definitions: Workflows, tasks, signals, events, subscriptions,
                commands, routes and middleware; repeats count once.

        Raises:
            DuplicateDefinition: Two definitions share a kind and name, or an
                HTTP method and path.
        """
        return cls(name=name, module=None, places=places_of(definitions))

    def replace(self, definitions: Iterable[Definition]) -> Service:
        """Return a copy in which each definition stands in for its namesake.

        Each given definition takes the place of the service's definition of the
        same kind and name; everything else, import paths included, is kept. This
        is how the test environment puts mocks in front of tasks and workflows
        while the engine looks definitions up by name as usual.

        Args:
            definitions: The stand-ins, at most one per kind and name.

        Raises:
            DefinitionNotFound: A stand-in has no definition of its kind and name
                in this service.
        """
        stand_ins = {(d.kind, d.name): d for d in definitions}
        places: list[Place] = []
        for place in self._places.values():
            key = (place.definition.kind, place.definition.name)
            stand_in = stand_ins.pop(key, None)
            places.append(place if stand_in is None else attrs.evolve(place, definition=stand_in))
        if stand_ins:
            kind, name = next(iter(stand_ins))
            raise DefinitionNotFound(
                f"cannot replace {kind} {name!r}: service {self._name!r} has no {kind} of that name"
            )
        return Service(name=self._name, module=self._module, places=places)

    def __repr__(self) -> str:
        return f"<Service {self._name!r} from {self._module!r}>"

    @property
    def name(self) -> str:
        """The service's name."""
        return self._name

    @property
    def module(self) -> str | None:
        """The dotted path it was loaded from (``None`` for :meth:`from_definitions`)."""
        return self._module

    @property
    def workflows(self) -> Mapping[str, Workflow[Any, Any]]:
        """Workflows by name, in discovery order."""
        return self._workflows

    @property
    def tasks(self) -> Mapping[str, Task[Any, Any]]:
        """Tasks by name, in discovery order."""
        return self._tasks

    @property
    def signals(self) -> Mapping[str, Signal[Any]]:
        """Signals by name, in discovery order."""
        return self._signals

    @property
    def events(self) -> Mapping[str, Event[Any]]:
        """Events by name, including those only received by a subscription."""
        return self._events

    @property
    def subscriptions(self) -> Mapping[str, Subscription[Any]]:
        """Subscriptions by name, in discovery order."""
        return self._subscriptions

    @property
    def commands(self) -> Mapping[str, Command[Any, Any]]:
        """Commands by name, in discovery order."""
        return self._commands

    @property
    def routes(self) -> Mapping[str, Route]:
        """REST routes by name (``"GET /orders/{order_id}"``), in discovery order."""
        return self._routes

    @property
    def middleware(self) -> tuple[Middleware, ...]:
        """Middleware in the order requests pass through them.

        That is module import order, then the line of each function in its module.
        """
        return self._middleware

    def _lookup(self, kind: str, mapping: Mapping[str, D], name: str) -> D:
        try:
            return mapping[name]
        except KeyError:
            known = ", ".join(mapping) or "(none)"
            raise DefinitionNotFound(
                f"no {kind} named {name!r} in service {self._name!r}; known: {known}"
            ) from None

    def workflow(self, name: str) -> Workflow[Any, Any]:
        """Return the workflow called ``name`` (raises :class:`DefinitionNotFound`)."""
        return self._lookup("workflow", self._workflows, name)

    def task(self, name: str) -> Task[Any, Any]:
        """Return the task called ``name`` (raises :class:`DefinitionNotFound`)."""
        return self._lookup("task", self._tasks, name)

    def signal(self, name: str) -> Signal[Any]:
        """Return the signal called ``name`` (raises :class:`DefinitionNotFound`)."""
        return self._lookup("signal", self._signals, name)

    def event(self, name: str) -> Event[Any]:
        """Return the event called ``name`` (raises :class:`DefinitionNotFound`)."""
        return self._lookup("event", self._events, name)

    def subscription(self, name: str) -> Subscription[Any]:
        """Return the subscription called ``name`` (raises :class:`DefinitionNotFound`)."""
        return self._lookup("subscription", self._subscriptions, name)

    def command(self, name: str) -> Command[Any, Any]:
        """Return the command called ``name`` (raises :class:`DefinitionNotFound`)."""
        return self._lookup("command", self._commands, name)

    def manifest(self) -> dict[str, JsonValue]:
        """Describe the service for a deploy target, as JSON-compatible data.

        Every handler has its ``kind``, ``name`` and ``import_path``
        (``module:attribute``, which ``importlib`` turns back into the definition;
        ``None`` when unknown) and its options, durations in seconds (deployment
        options: ``memory_mb``, ``concurrency``, a subscription's or command's
        ``timeout_seconds``; ``null`` when unset). Lists are
        sorted by name (routes by path, then method), except ``middleware``, which
        keeps the order requests pass through it.
        """
        return build_manifest(self, lambda definition: self._places[id(definition)].import_path)

    def manifest_json(self) -> str:
        """Return :meth:`manifest` as stable JSON (sorted keys, indented, final newline)."""
        return json.dumps(self.manifest(), indent=2, sort_keys=True) + "\n"
