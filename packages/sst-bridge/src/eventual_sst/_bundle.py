"""The Lambda code folder the component hands SST, built by eventual-aws's bundler.

SST's ``bundle`` option takes a folder, which it zips and uploads as it is;
:func:`eventual_aws.build_bundle` builds that folder for a runtime and an
architecture (or finds it in its cache, keyed by everything in it), so a deploy
with nothing new rebuilds nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

from eventual_aws import BundleError, BundleOptions, ServicePlan, build_bundle

__all__ = ["bundle_folder", "default_source_dir"]


def default_source_dir(project: Path) -> Path:
    """Return the folder a project's service imports from: ``src`` when it has one."""
    return project / "src" if (project / "src").is_dir() else project


def bundle_folder(
    plan: ServicePlan,
    source_dir: str | os.PathLike[str],
    *,
    options: BundleOptions | None = None,
) -> Path:
    """Build (or reuse) the code folder every function of ``plan`` runs; return it.

    Args:
        plan: The service's plan; its functions give the runtime and architecture.
        source_dir: The folder the service module imports from.
        options: How to bundle (see :class:`eventual_aws.BundleOptions`).

    Raises:
        eventual_aws.BundleError: The functions disagree on runtime or
            architecture, or the folder could not be built.
    """
    targets = {(f.runtime, f.architecture) for f in plan.functions}
    if len(targets) != 1:
        raise BundleError(
            f"the functions of {plan.service!r} run on {sorted(targets)}: one code folder "
            "serves one runtime and architecture"
        )
    ((runtime, architecture),) = targets
    bundle = build_bundle(
        source_dir=source_dir,
        python_version=runtime.removeprefix("python"),
        architecture=architecture,
        options=options,
    )
    return bundle.path.resolve()
