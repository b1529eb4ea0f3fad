"""eventual-pulumi's plugin: the ``pulumi`` deploy target, registered through ``eventual``.

Deploying a Pulumi program needs the Pulumi engine and a stack, so the target's
artifact is the program itself, written offline by ``eventual synth --target
pulumi [-o DIR]``: the files of a Pulumi project that deploys the service with
:class:`eventual_pulumi.Service` (``pulumi up`` in that folder), and the
service's plan (``plan.json``), which lists every resource the component will
create, by the names it will give them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType

from eventual.plugins import DeployTarget, hookimpl

__all__ = ["eventual_deploy_targets", "project_files"]


def project_files(service: object, settings: Mapping[str, object]) -> dict[str, str]:
    """Return the files of a Pulumi project deploying ``service``, by file name.

    Args:
        service: A dotted module path, a module or an ``eventual.Service``
            loaded from a module.
        settings: ``name`` (the project's and component's name, default: the
            module's top-level package), ``source_dir`` (default ``"."``),
            ``outdir`` (where the files go, default ``pulumi``: a ``source_dir``
            is written relative to it), ``prefix``, ``event_bus`` and
            ``shards`` (index shard counts by setting, ``{"listing_shards": 4}``;
            ``eventual synth`` passes the project's ``aws_*_shards``), passed to
            the component.

    Raises:
        ValueError: The service names no module.
        eventual_aws.PlanError: The service cannot be planned.
    """
    from eventual_aws import plan

    if isinstance(service, ModuleType):
        module: object = service.__name__
    else:
        module = service if isinstance(service, str) else getattr(service, "module", None)
    if not isinstance(module, str) or not module:
        raise ValueError(f"the pulumi target needs a service loaded from a module, not {service!r}")
    shards = settings.get("shards")
    if shards is not None and not isinstance(shards, Mapping):
        raise ValueError(
            f"the pulumi target's setting 'shards' must map shard settings to counts, "
            f"not {shards!r}"
        )
    name = str(settings.get("name") or module.split(".", 1)[0])
    outdir = Path(str(settings.get("outdir") or "pulumi"))
    source_dir = Path(str(settings.get("source_dir") or "."))
    if source_dir.is_absolute():
        source_dir = Path(os.path.relpath(source_dir, outdir.resolve()))
    options = {
        key: str(value)
        for key in ("prefix", "event_bus")
        if (value := settings.get(key)) is not None
    }
    arguments = "".join(f", {key}={value!r}" for key, value in options.items())
    if shards:
        arguments += f", shards={dict(shards)!r}"
    service_plan = plan(
        service if isinstance(service, str | ModuleType) else module,
        prefix=options.get("prefix"),
        event_bus=options.get("event_bus"),
        shards=shards,
    )
    return {
        "Pulumi.yaml": (
            f"name: {name}\n"
            "runtime:\n"
            "  name: python\n"
            "  options:\n"
            "    toolchain: pip\n"
            f"description: The eventual service {module} on AWS\n"
        ),
        "__main__.py": (
            f'"""Deploy {module} with eventual_pulumi.Service."""\n\n'
            "from pathlib import Path\n\n"
            "import pulumi\n\n"
            "from eventual_pulumi import Service\n\n"
            "# The folder the service imports from, relative to this program.\n"
            f"SOURCE_DIR = Path(__file__).resolve().parent / {source_dir.as_posix()!r}\n\n"
            f"service = Service({name!r}, service={module!r}, source_dir=SOURCE_DIR{arguments})\n"
            'pulumi.export("api_url", service.api_url)\n'
        ),
        "requirements.txt": "eventual-pulumi\n",
        "plan.json": json.dumps(service_plan.to_json(), indent=2, sort_keys=True) + "\n",
    }


@hookimpl
def eventual_deploy_targets() -> Sequence[DeployTarget]:
    """Contribute the ``pulumi`` deploy target."""
    return [
        DeployTarget(
            name="pulumi",
            description="a Pulumi project (Python) with eventual_pulumi.Service, and its plan",
            synthesize=project_files,
        )
    ]
