"""The SST component eventual-sst ships, and writing it into an SST app.

The component is TypeScript (``component/eventual.ts``, package data): SST apps
are configured in TypeScript and SST's components are TypeScript classes, so
the service's resources are created by SST itself, at deploy time, from the plan
``eventual plan --json`` prints. Python only writes the file and tells the user
how to use it.
"""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path
from typing import Final

import attrs

__all__ = ["COMPONENT_FILE", "SstAddition", "add_service", "component_source", "config_lines"]

COMPONENT_FILE: Final = "infra/eventual.ts"
"""Where ``eventual sst add`` writes the component, from the SST app's root."""

_NAME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


def component_source() -> str:
    """Return the TypeScript source of the ``EventualService`` SST component."""
    return resources.files(__package__).joinpath("component", "eventual.ts").read_text("utf-8")


@attrs.frozen(kw_only=True)
class SstAddition:
    """What :func:`add_service` did.

    Attributes:
        component: The component file, written or updated.
        changed: Whether the file's content changed (``False``: it was up to date).
        lines: The two lines to add to ``run()`` in ``sst.config.ts``.
    """

    component: Path
    changed: bool
    lines: tuple[str, str]


def default_name(service: str) -> str:
    """Return the SST resource name for a service module: ``orders.service`` -> ``Orders``."""
    words = re.split(r"[^A-Za-z0-9]+", service.split(".")[0])
    name = "".join(word[:1].upper() + word[1:] for word in words if word)
    return name if _NAME.match(name) else f"Service{name}"


def config_lines(
    *, name: str, service: str, path: str, component: str = COMPONENT_FILE
) -> tuple[str, str]:
    """Return the two lines that create the service in ``sst.config.ts``'s ``run()``.

    Args:
        name: The SST resource name (``Resource.<name>`` in linked code).
        service: The service module.
        path: The service's project folder, relative to the SST app's root.
        component: The component file, relative to the SST app's root.
    """
    module = "./" + component.removesuffix(".ts")
    variable = name[:1].lower() + name[1:]
    return (
        f'const {{ EventualService }} = await import("{module}");',
        f'const {variable} = new EventualService("{name}", '
        f'{{ service: "{service}", path: "{path}" }});',
    )


def add_service(
    app_dir: Path,
    *,
    service: str,
    service_dir: Path,
    name: str | None = None,
    component: str = COMPONENT_FILE,
) -> SstAddition:
    """Write (or update) the component in an SST app and return the lines that use it.

    Args:
        app_dir: The SST app's root (where ``sst.config.ts`` is).
        service: The service module (``orders.service``).
        service_dir: The service's project folder (its ``pyproject.toml``).
        name: The SST resource name (default: from the service, ``Orders``).
        component: Where to write the component, from ``app_dir``.

    Raises:
        ValueError: ``name`` is not a valid SST name.
    """
    name = name or default_name(service)
    if not _NAME.match(name):
        raise ValueError(
            f"SST resource name {name!r} must start with a letter and hold only letters "
            "and digits (e.g. Orders)"
        )
    app = app_dir.resolve()
    # SST runs the component from the app's root: the service's folder is named from there.
    relative = Path(os.path.relpath(service_dir.resolve(), app)).as_posix()
    target = app / component
    source = component_source()
    changed = not target.is_file() or target.read_text("utf-8") != source
    if changed:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source, "utf-8")
    lines = config_lines(name=name, service=service, path=relative, component=component)
    return SstAddition(component=target, changed=changed, lines=lines)
