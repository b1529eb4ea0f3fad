"""Services: the definitions found in a module or package, and their manifest.

A service is an importable module or package; its definitions are the module-level
objects found there that are :class:`~eventual._definition.Definition` instances.

Which modules are imported. ``Service.load("orders")`` on a package imports every
submodule once, depth first and in name order, so a task placed in
``orders/tasks.py`` belongs to the service without being imported anywhere else.
Submodules (and whole subpackages) named ``tests``, ``test``, ``conftest``,
``__main__``, ``test_*`` or ``*_test`` are not imported: tests are not part of a
service, and importing ``__main__`` runs a program. Private modules (``_impl.py``)
*are* imported, because hiding definitions in them is a common way to structure a
package and skipping them would silently drop handlers. ``pkgutil.walk_packages``
is not used: it imports every subpackage to recurse into it, ``tests`` included,
before the caller can decide to skip it.

Where a definition lives. The same object is often reachable from several modules
(``orders/__init__.py`` re-exporting ``orders.tasks.reserve_stock``); it counts once
and is attributed to one ``module:attribute``, its *import path* in the manifest.
Preferred, in this order: the module and name of its function
(``fn.__module__``, ``fn.__name__``); the module of its function; a module whose
source assigns that name at top level (how a signal or event, which has no
function, is traced to its definer); a module that is not a package
``__init__``; the first module in import order.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import pkgutil
import sys
from collections.abc import Iterable, Mapping
from datetime import timedelta
from types import MappingProxyType, ModuleType
from typing import Any, Final, TypeVar

import attrs

from ._codec import JsonValue
from ._command import Command
from ._definition import Definition, check_name
from ._errors import EventualError
from ._event import Event, Subscription
from ._http import Middleware, Route, RoutePattern
from ._retry import RetryPolicy
from ._signal import Signal
from ._task import Task
from ._workflow import Workflow

__all__ = [
    "MANIFEST_VERSION",
    "DefinitionNotFound",
    "DuplicateDefinition",
    "Service",
    "ServiceLoadError",
]

MANIFEST_VERSION: Final = 1
"""Version of the :meth:`Service.manifest` format; raised on incompatible changes."""

_SKIPPED_MODULES: Final = frozenset({"tests", "test", "conftest", "__main__"})

D = TypeVar("D", bound=Definition)


class ServiceLoadError(EventualError, ImportError):
    """A module of a service could not be imported.

    The original exception is chained as ``__cause__``; ``name`` is the module's
    dotted path.
    """


class DuplicateDefinition(EventualError, ValueError):
    """Two distinct definitions of one service clash.

    They have the same kind and name, or serve the same HTTP method and path.
    """


class DefinitionNotFound(EventualError, LookupError):
    """A service has no definition of the requested kind and name."""


@attrs.frozen(kw_only=True, eq=False)
class _Place:
    """A definition of a service and where it was found."""

    definition: Definition
    import_path: str | None
    """``module:attribute`` that gives the definition back, when known."""
    label: str
    """How messages name it: the import path, or a description when there is none."""
    order: tuple[int, int]
    """(module import order, line or position), which orders middleware."""


# --- discovery --------------------------------------------------------------------


def _import(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except Exception as error:
        message = f"cannot import service module {name!r}: {type(error).__name__}: {error}"
        missing = error.name if isinstance(error, ModuleNotFoundError) else None
        if missing is not None and (name == missing or name.startswith(missing + ".")):
            message += (
                "; check the dotted module path, and that its distribution is installed "
                "or its folder is on sys.path"
            )
        else:
            message += "; fix the error in that module (its traceback is chained above)"
        raise ServiceLoadError(message, name=name) from error


def _is_skipped(module_name: str) -> bool:
    last = module_name.rpartition(".")[2]
    return last in _SKIPPED_MODULES or last.startswith("test_") or last.endswith("_test")


def _service_modules(root: ModuleType) -> list[ModuleType]:
    """Return ``root`` and, for a package, its submodules in import order."""
    modules = [root]
    seen = {root.__name__}

    def walk(package: ModuleType) -> None:
        path = getattr(package, "__path__", None)
        if path is None:
            return
        for info in pkgutil.iter_modules(path, prefix=package.__name__ + "."):
            if info.name in seen or _is_skipped(info.name):
                continue
            seen.add(info.name)
            module = _import(info.name)
            modules.append(module)
            if info.ispkg:
                walk(module)

    walk(root)
    return modules


def _target_names(target: ast.expr) -> Iterable[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from _target_names(element)


def _names_defined_in(module: ModuleType) -> frozenset[str]:
    """Return the names a module's source binds at top level other than by import."""
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError, SyntaxError):
        # No source (a built or dynamically created module): the other rules decide.
        return frozenset()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                names.update(_target_names(target))
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            names.update(_target_names(node.target))
    return frozenset(names)


@attrs.frozen(kw_only=True, eq=False)
class _Candidate:
    module: ModuleType
    attribute: str
    index: int
    position: int


class _Discovery:
    """Finds the definitions of a list of modules and where each one lives."""

    def __init__(self, modules: list[ModuleType]) -> None:
        self._modules = modules
        self._defined: dict[str, frozenset[str]] = {}

    def _defines(self, candidate: _Candidate) -> bool:
        name = candidate.module.__name__
        if name not in self._defined:
            self._defined[name] = _names_defined_in(candidate.module)
        return candidate.attribute in self._defined[name]

    def _home(self, definition: Definition, candidates: list[_Candidate]) -> _Candidate:
        fn = getattr(definition, "fn", None)
        fn_module = getattr(fn, "__module__", None)
        fn_name = getattr(fn, "__name__", None)
        for candidate in candidates:
            if candidate.module.__name__ == fn_module and candidate.attribute == fn_name:
                return candidate
        for candidate in candidates:
            if candidate.module.__name__ == fn_module:
                return candidate
        if len(candidates) > 1:
            for candidate in candidates:
                if self._defines(candidate):
                    return candidate
            for candidate in candidates:
                if not hasattr(candidate.module, "__path__"):
                    return candidate
        return candidates[0]

    def places(self) -> list[_Place]:
        found: dict[int, tuple[Definition, list[_Candidate]]] = {}
        for index, module in enumerate(self._modules):
            for position, (attribute, value) in enumerate(list(vars(module).items())):
                if isinstance(value, Definition):
                    candidate = _Candidate(
                        module=module, attribute=attribute, index=index, position=position
                    )
                    found.setdefault(id(value), (value, []))[1].append(candidate)
        places: list[_Place] = []
        for definition, candidates in found.values():
            home = self._home(definition, candidates)
            import_path = f"{home.module.__name__}:{home.attribute}"
            if isinstance(definition, Signal | Event) and (
                ":" not in definition.source or self._defines(home)
            ):
                # Only a confident answer replaces a ``module:attribute`` found before,
                # so that a service importing another's event does not claim it.
                definition.source = import_path
            line = _first_line(definition)
            places.append(
                _Place(
                    definition=definition,
                    import_path=import_path,
                    label=import_path,
                    order=(home.index, home.position if line is None else line),
                )
            )
        return places


def _first_line(definition: Definition) -> int | None:
    code = getattr(getattr(definition, "fn", None), "__code__", None)
    line = getattr(code, "co_firstlineno", None)
    return line if isinstance(line, int) else None


def _resolves(import_path: str, definition: Definition) -> bool:
    """Whether ``import_path`` names ``definition`` in an already imported module."""
    module_name, _, attribute = import_path.partition(":")
    module = sys.modules.get(module_name)
    return module is not None and vars(module).get(attribute) is definition


def _add_subscribed_events(places: list[_Place]) -> None:
    """Add events that subscriptions receive but no module of the service holds."""
    known = {id(place.definition) for place in places}
    for place in list(places):
        subscription = place.definition
        if not isinstance(subscription, Subscription):
            continue
        for event in subscription.events:
            if id(event) in known:
                continue
            known.add(id(event))
            import_path = event.source if _resolves(event.source, event) else None
            home = sys.modules.get(subscription.fn.__module__)
            if import_path is None and home is not None:
                for attribute, value in vars(home).items():
                    if value is event:
                        import_path = f"{home.__name__}:{attribute}"
                        break
            label = import_path or f"the event {event.name!r} received by {place.label}"
            places.append(
                _Place(definition=event, import_path=import_path, label=label, order=place.order)
            )


def _route_shape(method: str, pattern: RoutePattern) -> tuple[str, str]:
    """Return what makes two routes serve the same requests: method and path shape."""
    segments = pattern.pattern.strip("/").split("/")
    shape = "/".join("{}" if s.startswith("{") else s for s in segments)
    return method, "/" + shape


def _check_unique(places: list[_Place]) -> None:
    by_name: dict[tuple[str, str], _Place] = {}
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
    endpoints: dict[tuple[str, str], tuple[_Place, str]] = {}

    def claim(method: str, pattern: RoutePattern, place: _Place, what: str) -> None:
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


# --- the manifest -----------------------------------------------------------------


def _seconds(value: timedelta | None) -> JsonValue:
    return None if value is None else value.total_seconds()


def _retry(policy: RetryPolicy | None) -> JsonValue:
    if policy is None:
        return None
    return {
        "max_attempts": policy.max_attempts,
        "initial_interval_seconds": policy.initial_interval.total_seconds(),
        "backoff": policy.backoff,
        "max_interval_seconds": policy.max_interval.total_seconds(),
        "non_retryable": list(policy.non_retryable),
    }


def _type_name(type_: object) -> str:
    if type_ is type(None):
        return "None"
    if isinstance(type_, type):
        module, qualname = type_.__module__, type_.__qualname__
        return qualname if module == "builtins" else f"{module}.{qualname}"
    return repr(type_)


def _rest(method: str, pattern: RoutePattern) -> JsonValue:
    return {"method": method, "path": pattern.pattern, "path_params": list(pattern.param_names)}


# --- the service ------------------------------------------------------------------


def _by_name(places: Iterable[_Place], kind: type[D]) -> Mapping[str, D]:
    return MappingProxyType(
        {p.definition.name: p.definition for p in places if isinstance(p.definition, kind)}
    )


class Service:
    """The definitions of one service: workflows, tasks, signals, events, APIs.

    Build one with :meth:`load` (from a module or package) or
    :meth:`from_definitions` (from objects, e.g. in a test).
    """

    def __init__(self, *, name: str, module: str | None, places: Iterable[_Place]) -> None:
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
            root = _import(target)
        else:
            raise TypeError(f"Service.load takes a dotted module path or a module, got {target!r}")
        places = _Discovery(_service_modules(root)).places()
        _add_subscribed_events(places)
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
        places: dict[int, _Place] = {}
        for position, definition in enumerate(definitions):
            if not isinstance(definition, Definition):
                raise TypeError(
                    f"Service.from_definitions: {definition!r} is not a definition "
                    "(a workflow, task, signal, event, subscription, command, route or middleware)"
                )
            _, _, attribute = definition.source.partition(":")
            import_path = definition.source if attribute.isidentifier() else None
            places.setdefault(
                id(definition),
                _Place(
                    definition=definition,
                    import_path=import_path,
                    label=definition.source if import_path else repr(definition),
                    order=(0, position),
                ),
            )
        found = list(places.values())
        _add_subscribed_events(found)
        return cls(name=name, module=None, places=found)

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
        places: list[_Place] = []
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
        ``None`` when unknown) and its options, durations in seconds. Lists are
        sorted by name (routes by path, then method), except ``middleware``, which
        keeps the order requests pass through it.
        """

        def entry(definition: Definition, **fields: JsonValue) -> JsonValue:
            place = self._places[id(definition)]
            return {
                "kind": definition.kind,
                "name": definition.name,
                "import_path": place.import_path,
                **fields,
            }

        def by_name(mapping: Mapping[str, D]) -> list[D]:
            return sorted(mapping.values(), key=lambda d: d.name)

        return {
            "manifest_version": MANIFEST_VERSION,
            "service": {"name": self._name, "module": self._module},
            "workflows": [
                entry(w, timeout_seconds=_seconds(w.timeout)) for w in by_name(self._workflows)
            ],
            "tasks": [
                entry(
                    t,
                    timeout_seconds=_seconds(t.timeout),
                    heartbeat_timeout_seconds=_seconds(t.heartbeat_timeout),
                    retry=_retry(t.retry),
                )
                for t in by_name(self._tasks)
            ],
            "signals": [
                entry(s, payload_type=_type_name(s.payload_type)) for s in by_name(self._signals)
            ],
            "events": [
                entry(e, payload_type=_type_name(e.payload_type)) for e in by_name(self._events)
            ],
            "subscriptions": [
                entry(
                    s,
                    events=[e.name for e in s.events],
                    patterns=s.patterns(),  # type: ignore[arg-type]
                    retry=_retry(s.retry),
                )
                for s in by_name(self._subscriptions)
            ],
            "commands": [
                entry(
                    c,
                    rpc=_rest("POST", RoutePattern(f"/_rpc/{c.name}")),
                    rest=None if c.path is None else _rest(c.method, c.path),
                )
                for c in by_name(self._commands)
            ],
            "routes": [
                entry(r, method=r.method, path=r.path.pattern, path_params=list(r.path.param_names))
                for r in sorted(self._routes.values(), key=lambda r: (r.path.pattern, r.method))
            ],
            "middleware": [entry(m) for m in self._middleware],
        }

    def manifest_json(self) -> str:
        """Return :meth:`manifest` as stable JSON (sorted keys, indented, final newline)."""
        return json.dumps(self.manifest(), indent=2, sort_keys=True) + "\n"
