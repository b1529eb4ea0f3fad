"""What goes into a bundle: the service's requirements, local distributions, boto3's closure.

``importlib.metadata`` and ``tomllib`` are imported where used: handlers import
``eventual_aws`` on every cold start and never build bundles.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Final

__all__ = [
    "BOTO3_CLOSURE_ROOTS",
    "canonical",
    "local_distributions",
    "parse_resolution",
    "project_requirements",
    "requirement_name",
    "without_boto3",
]

BOTO3_CLOSURE_ROOTS: Final = frozenset({"boto3", "botocore"})

_NAME: Final = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def canonical(name: str) -> str:
    """Return a distribution name in its normalized form (PEP 503): ``eventual-aws``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(line: str) -> str | None:
    """Return the normalized name a requirement line names, ``None`` for options and comments."""
    line = line.split("#", 1)[0].strip()
    if not line or line.startswith("-"):
        return None
    match = _NAME.match(line)
    return canonical(match[1]) if match else None


def project_requirements(source_dir: Path) -> list[str]:
    """Return the service's own requirements, from ``source_dir`` (or its parent for ``src``).

    A ``requirements.txt`` wins over a ``pyproject.toml``'s ``[project] dependencies``.
    A ``src`` layout (``source_dir`` named ``src``) reads its project's files one
    folder up.
    """
    import tomllib

    folders = [source_dir]
    if source_dir.name == "src":
        folders.append(source_dir.parent)
    for folder in folders:
        requirements = folder / "requirements.txt"
        if requirements.is_file():
            return [
                line.strip()
                for line in requirements.read_text().splitlines()
                if line.strip() and not line.lstrip().startswith("#")
            ]
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            with pyproject.open("rb") as f:
                project = tomllib.load(f).get("project", {})
            return [str(r) for r in project.get("dependencies", [])]
    return []


def _local_project(name: str) -> Path | None:
    """Return the folder of an installed distribution that was installed from a folder."""
    from importlib import metadata

    try:
        distribution = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return None
    direct_url = distribution.read_text("direct_url.json")
    if not direct_url:
        return None
    data = json.loads(direct_url)
    url = str(data.get("url", ""))
    if "dir_info" not in data or not url.startswith("file://"):
        return None
    folder = Path(url.removeprefix("file://"))
    return folder if (folder / "pyproject.toml").is_file() else None


def _installed_requires(name: str) -> list[str]:
    from importlib import metadata

    try:
        requires = metadata.requires(name) or []
    except metadata.PackageNotFoundError:
        return []
    # Extras are not asked for; their requirements are left out.
    return [r for r in requires if "extra ==" not in r.replace('"', "").replace("'", "")]


def local_distributions(roots: Iterable[str]) -> dict[str, Path]:
    """Find the distributions (roots and what they require) installed from local folders.

    Such a distribution (an editable install of a workspace) is on no index, so
    the bundle builds it as a wheel from its folder.
    """
    found: dict[str, Path] = {}
    seen: set[str] = set()
    pending = [canonical(r) for r in roots]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        folder = _local_project(name)
        if folder is None:
            continue
        found[name] = folder
        pending.extend(n for r in _installed_requires(name) if (n := requirement_name(r)))
    return found


def parse_resolution(text: str, local: dict[str, Path]) -> dict[str, tuple[str, set[str]]]:
    """Map each resolved name to its requirement line and the names it is required by.

    A local project's line is its folder's URL (uv writes ``-e file://...`` for a
    workspace member); the caller installs its wheel instead.
    """
    by_url = {folder.as_uri(): name for name, folder in local.items()}
    resolved: dict[str, tuple[str, set[str]]] = {}
    for raw in text.splitlines():
        line, _, comment = raw.partition("#")
        line = line.strip().removeprefix("-e ").strip()
        name = by_url.get(line.split(" @ ")[-1].rstrip("/")) or requirement_name(line)
        if name is None:
            continue
        via = comment.strip().removeprefix("via").strip()
        parents = {canonical(v.strip()) for v in via.split(",") if v.strip()} if via else set()
        resolved[name] = (line, parents)
    return resolved


def without_boto3(resolved: dict[str, tuple[str, set[str]]]) -> dict[str, tuple[str, set[str]]]:
    """Drop boto3, botocore and whatever only they need (Lambda's runtime has them)."""
    dropped = {name for name in BOTO3_CLOSURE_ROOTS if name in resolved}
    changed = True
    while changed:
        changed = False
        for name, (_line, parents) in resolved.items():
            if name not in dropped and parents and parents <= dropped:
                dropped.add(name)
                changed = True
    return {n: v for n, v in resolved.items() if n not in dropped}
