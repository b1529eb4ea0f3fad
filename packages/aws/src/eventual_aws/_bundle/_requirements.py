"""What goes into a bundle: the service's requirements, the runtime's, and what never does.

Modules beyond the basics are imported where used, as in ``_build``. A bundle
installs ``eventual-aws`` (the handlers and the runtime it pulls in) and
the service's own dependencies, read from ``pyproject.toml`` (``[project]
dependencies``) or ``requirements.txt`` in the source folder. Deploy tooling and
developer tools are left out even when the service's project lists them, because
a handler never imports them and they would only grow every cold start.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from importlib import metadata

__all__ = [
    "EXCLUDED",
    "RUNTIME_REQUIREMENT",
    "BundleError",
    "local_distributions",
    "normalize",
    "requirement_name",
    "service_requirements",
]

RUNTIME_REQUIREMENT: Final = "eventual-aws"
"""The distribution every bundle installs: the Lambda handlers and the AWS runtime."""

EXCLUDED: Final[frozenset[str]] = frozenset(
    {
        "aws-cdk-lib",
        "click",
        "constructs",
        "eventual-aws-cdk",
        "eventual-cli",
        "eventual-pulumi",
        "eventual-sst",
        "eventual-testing",
        "pulumi",
        "pulumi-aws",
        "rich",
        "typer",
        "uv",
        "uvicorn",
    }
)
"""Distributions never installed in a bundle, even as another's dependency."""

_NAME: Final = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_EXTRA_ONLY: Final = re.compile(r";.*\bextra\s*==")


class BundleError(Exception):
    """A bundle cannot be built; the message says what was wrong and what to do."""


def normalize(name: str) -> str:
    """Return a distribution name in its normalized form (PEP 503): ``eventual-aws``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    """Return the normalized distribution name a requirement string names.

    Raises:
        BundleError: The string names no distribution.
    """
    match = _NAME.match(requirement)
    if match is None:
        raise BundleError(f"cannot read the requirement {requirement!r}: it names no distribution")
    return normalize(match[1])


def service_requirements(source_dir: Path) -> list[str]:
    """Return the service's own requirements, the excluded ones left out.

    ``pyproject.toml``'s ``[project] dependencies`` win over ``requirements.txt``
    when the folder has both.

    Raises:
        BundleError: A file cannot be read, or ``requirements.txt`` holds an
            option (``-e``, ``-r``) a bundle cannot follow.
    """
    import tomllib

    pyproject = source_dir / "pyproject.toml"
    requirements_txt = source_dir / "requirements.txt"
    if pyproject.is_file():
        try:
            project = tomllib.loads(pyproject.read_text()).get("project", {})
        except tomllib.TOMLDecodeError as error:
            raise BundleError(f"cannot read {pyproject}: {error}") from error
        found = [str(r) for r in project.get("dependencies", [])]
    elif requirements_txt.is_file():
        found = list(_requirement_lines(requirements_txt))
    else:
        found = []
    return [r for r in found if requirement_name(r) not in EXCLUDED]


def _requirement_lines(path: Path) -> Iterator[str]:
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            raise BundleError(
                f"{path}:{number}: {line!r} is an option a bundle cannot follow; "
                "list plain requirements (name and version) only"
            )
        yield line


def local_distributions(names: Iterable[str]) -> dict[str, Path]:
    """Find the installed distributions among ``names`` and their dependencies built from a folder.

    Distributions installed from a local folder (an editable install of a
    workspace, ``pip install ./path``) are not on any index, so the bundle
    builds them as wheels from that folder. The search follows the
    dependencies of local distributions only: a distribution from an index
    brings its own dependencies from the index.

    Returns:
        The folder of each local distribution, by normalized name.
    """
    from importlib import metadata

    found: dict[str, Path] = {}
    pending = [normalize(n) for n in names]
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen or name in EXCLUDED:
            continue
        seen.add(name)
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        folder = _local_folder(distribution)
        if folder is None:
            continue
        found[name] = folder
        for requirement in distribution.requires or ():
            if not _EXTRA_ONLY.search(requirement):
                pending.append(requirement_name(requirement))
    return found


def _local_folder(distribution: metadata.Distribution) -> Path | None:
    from urllib.parse import unquote, urlparse

    text = distribution.read_text("direct_url.json")
    if not text:
        return None
    direct = json.loads(text)
    url = urlparse(str(direct.get("url", "")))
    if url.scheme != "file" or "dir_info" not in direct:
        return None
    folder = Path(unquote(url.path))
    return folder if (folder / "pyproject.toml").is_file() else None
