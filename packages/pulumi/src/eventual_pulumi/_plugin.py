"""eventual-pulumi's plugin: the ``pulumi`` deploy target, registered through ``eventual``.

Synthesizing a Pulumi program needs the Pulumi engine, so the target's artifact
is the program itself: the files of a Pulumi project that deploys the service
with :class:`eventual_pulumi.Service`, ready for ``pulumi up``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from eventual.plugins import DeployTarget, hookimpl

__all__ = ["eventual_deploy_targets", "project_files"]


def project_files(service: object, settings: Mapping[str, object]) -> dict[str, str]:
    """Return the files of a Pulumi project deploying ``service``, by file name.

    Args:
        service: A dotted module path, or anything with a ``module`` attribute
            naming one (an ``eventual.Service``).
        settings: ``name`` (the project's and component's name, default: the
            module's top-level package) and ``source_dir`` (default ``"."``).

    Raises:
        ValueError: The service names no module.
    """
    module = service if isinstance(service, str) else getattr(service, "module", None)
    if not isinstance(module, str) or not module:
        raise ValueError(f"the pulumi target needs a service loaded from a module, not {service!r}")
    name = str(settings.get("name") or module.split(".", 1)[0])
    source_dir = str(settings.get("source_dir") or ".")
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
            "import pulumi\n\n"
            "from eventual_pulumi import Service\n\n"
            f"service = Service({name!r}, service={module!r}, source_dir={source_dir!r})\n"
            'pulumi.export("api_url", service.api_url)\n'
        ),
        "requirements.txt": "eventual-pulumi\n",
    }


@hookimpl
def eventual_deploy_targets() -> Sequence[DeployTarget]:
    """Contribute the ``pulumi`` deploy target."""
    return [
        DeployTarget(
            name="pulumi",
            description="a Pulumi program (Python) with eventual_pulumi.Service",
            synthesize=project_files,
        )
    ]
