"""Discovery: the definitions found in a module or package, and where each lives.

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
import pkgutil
import sys
from collections.abc import Iterable
from types import ModuleType
from typing import Final

import attrs

from .._definition import Definition
from .._errors import EventualError
from .._event import Event, Subscription
from .._signal import Signal

__all__ = ["Place", "ServiceLoadError", "discover", "import_module", "places_of"]

_SKIPPED_MODULES: Final = frozenset({"tests", "test", "conftest", "__main__"})


class ServiceLoadError(EventualError, ImportError):
    """A module of a service could not be imported.

    The original exception is chained as ``__cause__``; ``name`` is the module's
    dotted path.
    """


@attrs.frozen(kw_only=True, eq=False)
class Place:
    """A definition of a service and where it was found."""

    definition: Definition
    import_path: str | None
    """``module:attribute`` that gives the definition back, when known."""
    label: str
    """How messages name it: the import path, or a description when there is none."""
    order: tuple[int, int]
    """(module import order, line or position), which orders middleware."""


def discover(root: ModuleType) -> list[Place]:
    """Return the definitions of ``root`` (and, for a package, its submodules).

    Events that a subscription receives but no module of the service holds are
    added after the others.

    Raises:
        ServiceLoadError: A submodule could not be imported.
    """
    places = _Discovery(_service_modules(root)).places()
    _add_subscribed_events(places)
    return places


def places_of(definitions: Iterable[Definition]) -> list[Place]:
    """Return places for definition objects given without a module.

    Import paths come from each definition's ``source``; the order is the one
    given; repeats count once; events received by a subscription are added when
    missing.

    Raises:
        TypeError: An object is not a definition.
    """
    places: dict[int, Place] = {}
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
            Place(
                definition=definition,
                import_path=import_path,
                label=definition.source if import_path else repr(definition),
                order=(0, position),
            ),
        )
    found = list(places.values())
    _add_subscribed_events(found)
    return found


def import_module(name: str) -> ModuleType:
    """Import a service module, or raise :class:`ServiceLoadError` saying what to fix."""
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
            module = import_module(info.name)
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

    def places(self) -> list[Place]:
        found: dict[int, tuple[Definition, list[_Candidate]]] = {}
        for index, module in enumerate(self._modules):
            for position, (attribute, value) in enumerate(list(vars(module).items())):
                if isinstance(value, Definition):
                    candidate = _Candidate(
                        module=module, attribute=attribute, index=index, position=position
                    )
                    found.setdefault(id(value), (value, []))[1].append(candidate)
        places: list[Place] = []
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
                Place(
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


def _add_subscribed_events(places: list[Place]) -> None:
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
                Place(definition=event, import_path=import_path, label=label, order=place.order)
            )
