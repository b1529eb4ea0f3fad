"""The ``aws-cdk`` deploy target: a one-stack CDK app holding the service, synthesized.

Settings (all optional, the CLI's flags): ``outdir`` (default ``cdk.out``),
``source_dir`` (default: the current folder, or its ``src``), ``stack`` (the
stack's name, default: the prefix or service name), ``prefix``, ``event_bus``
(an existing bus's name), ``shards`` (index shard counts by setting,
``{"listing_shards": 4}``: ``eventual synth`` passes the project's
``aws_*_shards``), ``offline`` (bundle from uv's cache only) and
``include_boto3``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

import eventual
from eventual_aws import BundleOptions

__all__ = ["synthesize", "default_source_dir"]


def default_source_dir(project: Path) -> Path:
    """Return the folder a project's service imports from: ``src`` when it has one."""
    return project / "src" if (project / "src").is_dir() else project


def _setting(settings: Mapping[str, object], key: str) -> str | None:
    value = settings.get(key)
    if value is None:
        return None
    if not isinstance(value, str | Path):
        raise TypeError(f"deploy target aws-cdk: setting {key!r} must be a string, not {value!r}")
    return str(value)


def synthesize(service: object, settings: Mapping[str, object]) -> Path:
    """Synthesize a CDK app with the service in one stack; return the cloud assembly's folder.

    Args:
        service: A module path, a module or an :class:`eventual.Service`.
        settings: See the module's docstring.

    Raises:
        TypeError: ``service`` or a setting has the wrong type.
    """
    from aws_cdk import App, CfnOutput, Stack
    from aws_cdk import aws_events as events

    from ._service import Service

    if not isinstance(service, str | ModuleType | eventual.Service):
        raise TypeError(f"deploy target aws-cdk: cannot synthesize {service!r}")
    outdir = Path(_setting(settings, "outdir") or "cdk.out")
    source = _setting(settings, "source_dir")
    source_dir = Path(source) if source else default_source_dir(Path.cwd())
    prefix = _setting(settings, "prefix")
    name = _setting(settings, "stack") or prefix or _service_name(service)
    app = App(outdir=str(outdir))
    stack = Stack(app, re.sub(r"[^A-Za-z0-9-]", "-", name))
    bus_name = _setting(settings, "event_bus")
    shards = settings.get("shards")
    if shards is not None and not isinstance(shards, Mapping):
        raise TypeError(
            f"deploy target aws-cdk: setting 'shards' must map shard settings to counts, "
            f"not {shards!r}"
        )
    deployed = Service(
        stack,
        "Service",
        service=service,
        source_dir=source_dir,
        prefix=prefix,
        shards=shards,
        event_bus=(
            events.EventBus.from_event_bus_name(stack, "Bus", bus_name) if bus_name else None
        ),
        bundling=BundleOptions(
            offline=bool(settings.get("offline", False)),
            include_boto3=bool(settings.get("include_boto3", True)),
        ),
    )
    CfnOutput(stack, "ApiUrl", value=deployed.api_url, description="The service's HTTP API")
    app.synth()
    return outdir


def _service_name(service: str | ModuleType | eventual.Service) -> str:
    if isinstance(service, eventual.Service):
        return service.name
    module = service if isinstance(service, str) else service.__name__
    return module.partition(".")[0]
