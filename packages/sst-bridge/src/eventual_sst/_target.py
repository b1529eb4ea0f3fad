"""The ``sst`` deploy target: the files of an SST app holding the service.

``eventual synth --target sst -o DIR`` writes them: the component and an
``sst.config.ts`` that creates the service and prints its URL. Settings (the
CLI's flags, all optional): ``source_dir`` (the folder the service imports from;
its project folder is the one with the ``pyproject.toml``), ``stack`` (the app's
name), ``prefix``, ``event_bus``. Index shard counts are not settings here: the
component plans the service with ``eventual plan`` in its project folder, which
reads them from that project's ``[tool.eventual]`` (``aws_*_shards``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

import eventual

from ._component import COMPONENT_FILE, component_source, default_name

__all__ = ["synthesize"]


def synthesize(service: object, settings: Mapping[str, object]) -> dict[str, str]:
    """Return an SST app's files (path to text) that deploy ``service`` with ``sst deploy``.

    Args:
        service: A module path, a module or an :class:`eventual.Service`.
        settings: See the module's docstring.

    Raises:
        TypeError: ``service`` or a setting has the wrong type.
    """
    if isinstance(service, eventual.Service):
        module, name_source = service.module, service.name
    elif isinstance(service, ModuleType):
        module, name_source = service.__name__, service.__name__
    elif isinstance(service, str):
        module, name_source = service, service
    else:
        raise TypeError(f"deploy target sst: cannot synthesize {service!r}")
    if not isinstance(module, str):
        raise TypeError("deploy target sst: give the service as its module path (orders.service)")
    for key in ("source_dir", "stack", "prefix", "event_bus"):
        value = settings.get(key)
        if value is not None and not isinstance(value, str | Path):
            raise TypeError(f"deploy target sst: setting {key!r} must be a string, not {value!r}")
    source = Path(str(settings.get("source_dir") or "."))
    project = source.parent if source.name == "src" else source
    name = default_name(name_source)
    app_name = re.sub(r"[^a-z0-9-]", "-", str(settings.get("stack") or name).lower())
    options: dict[str, str] = {"service": module, "path": project.resolve().as_posix()}
    for key, option in (("prefix", "prefix"), ("event_bus", "eventBus")):
        if settings.get(key):
            options[option] = str(settings[key])
    config = _CONFIG.format(
        app=json.dumps(app_name),
        module=json.dumps("./" + COMPONENT_FILE.removesuffix(".ts")),
        name=json.dumps(name),
        options=json.dumps(options, indent=2).replace("\n", "\n    "),
    )
    return {"sst.config.ts": config, COMPONENT_FILE: component_source()}


_CONFIG = """/// <reference path="./.sst/platform/config.d.ts" />
// Written by `eventual synth --target sst`: an SST app holding one eventual service.
export default $config({{
  app(input) {{
    const removal = input?.stage === "production" ? "retain" : "remove";
    return {{ name: {app}, removal, home: "aws" }};
  }},
  async run() {{
    const {{ EventualService }} = await import({module});
    const service = new EventualService({name}, {options});
    return {{ url: service.url }};
  }},
}});
"""
