"""The Lambda code asset: the service's code and its runtime, installed for Lambda's platform.

Bundling runs on the machine that synthesizes, without Docker: uv resolves the
requirements for the function's Python version and architecture
(``--python-platform aarch64-manylinux2014``) and installs only wheels built for
that platform, so a compiled dependency is Lambda's build of it, not the host's.
Workspace distributions installed in editable mode (a monorepo, this
repository) are built as wheels first, so synthesizing works from a checkout
as well as from released wheels, and offline when uv's cache holds the rest.

One bundle serves every function of a given runtime and architecture: the
handlers differ only by their entry point. Bundles are kept in a cache keyed by
everything that goes into them, so a second synth reuses the first's.

Rejected: Docker bundling (``aws-lambda-python-alpha``) needs a daemon the
synthesizing machine may not have; ``pip install --platform`` refuses to mix a
local project with platform constraints; Lambda layers add a second asset for no
gain when every function runs the same code.
"""

from __future__ import annotations

import compileall
import hashlib
import json
import os
import py_compile
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterable, Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Final

import attrs

__all__ = ["CACHE_ENV_VAR", "FORBIDDEN", "BundleError", "BundleOptions", "build_bundle"]

FORBIDDEN: Final = frozenset(
    {
        "aws-cdk-lib",
        "constructs",
        "jsii",
        "pulumi",
        "pulumi-aws",
        "click",
        "uvicorn",
        "rich",
        "eventual-cli",
        "eventual-aws-cdk",
        "eventual-pulumi",
        "eventual-sst",
    }
)
"""Distributions a Lambda bundle never contains: deploy tooling and the command line."""

CACHE_ENV_VAR: Final = "EVENTUAL_BUNDLE_CACHE"
"""Names a folder where bundles are kept across synths and cloud assemblies (a CI cache)."""
RUNTIME_DISTRIBUTION: Final = "eventual-aws"
"""What the handlers need: the AWS runtime, and through it core, engine and messaging."""

BOTO3_CLOSURE_ROOTS: Final = frozenset({"boto3", "botocore"})

_SKIPPED_NAMES: Final = frozenset(
    {"__pycache__", ".venv", "venv", "node_modules", "cdk.out", ".git", ".mypy_cache"}
)
_PLATFORMS: Final = {"arm64": "aarch64-manylinux2014", "x86_64": "x86_64-manylinux2014"}
_NAME: Final = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_BUNDLE_FORMAT: Final = "1"


class BundleError(Exception):
    """The Lambda code could not be bundled; the message says what and how to fix it."""


@attrs.frozen(kw_only=True)
class BundleOptions:
    """How the Lambda code asset is built.

    Attributes:
        include_boto3: Bundle boto3 and botocore (the default), so the functions
            run the SDK version eventual-aws was tested with instead of the one
            Lambda's runtime happens to carry; ``False`` leaves them out and
            uses the runtime's (a smaller asset, an SDK that changes under you).
        offline: Resolve and install from uv's cache only (``uv --offline``).
        index_url: Another package index than PyPI.
        find_links: Folders or pages of wheels to look in as well.
        requirements: Extra requirement lines to install beside the service's own.
        cache_dir: Where bundles are kept between synths; default: the
            ``EVENTUAL_BUNDLE_CACHE`` environment variable, else the cloud
            assembly's folder (``cdk.out``) under ``eventual-bundles``.
        compile_bytecode: Write ``.pyc`` files (Lambda's code folder is read-only,
            so Python cannot cache them there); only done when the synthesizing
            Python has the Lambda runtime's version.
    """

    include_boto3: bool = True
    offline: bool = False
    index_url: str | None = None
    find_links: tuple[str, ...] = ()
    requirements: tuple[str, ...] = ()
    cache_dir: str | None = None
    compile_bytecode: bool = True


def _uv() -> str:
    try:
        from uv import find_uv_bin
    except ImportError:  # pragma: no cover - uv is a dependency; a PATH uv is the fallback
        found = shutil.which("uv")
        if found is None:
            raise BundleError("uv is needed to bundle Lambda code: pip install uv") from None
        return found
    return str(find_uv_bin())


def _run(args: Sequence[str], what: str) -> str:
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BundleError(f"{what} failed:\n{result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(line: str) -> str | None:
    line = line.split("#", 1)[0].strip()
    if not line or line.startswith("-"):
        return None
    match = _NAME.match(line)
    return _canonical(match[1]) if match else None


def project_requirements(source_dir: Path) -> list[str]:
    """Return the service's own requirements, from ``source_dir`` (or its parent for ``src``).

    A ``requirements.txt`` wins over a ``pyproject.toml``'s ``[project] dependencies``.
    A ``src`` layout (``source_dir`` named ``src``) reads its project's files one
    folder up.
    """
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
    try:
        requires = metadata.requires(name) or []
    except metadata.PackageNotFoundError:
        return []
    # Extras are not asked for; their requirements are left out.
    return [r for r in requires if "extra ==" not in r.replace('"', "").replace("'", "")]


def _local_distributions(roots: Iterable[str]) -> dict[str, Path]:
    """Find the distributions (roots and what they require) installed from local folders."""
    found: dict[str, Path] = {}
    seen: set[str] = set()
    pending = [_canonical(r) for r in roots]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        folder = _local_project(name)
        if folder is None:
            continue
        found[name] = folder
        pending.extend(n for r in _installed_requires(name) if (n := _requirement_name(r)))
    return found


def _build_wheels(projects: dict[str, Path], wheelhouse: Path, offline: bool) -> dict[str, Path]:
    """Build a wheel of each local project, all at once (each build is a process)."""
    running = []
    for name, folder in sorted(projects.items()):
        out = wheelhouse / name
        args = [_uv(), "build", "--wheel", "--quiet", "--out-dir", str(out), str(folder)]
        process = subprocess.Popen(
            [*args, "--offline"] if offline else args,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        running.append((name, folder, out, process))
    wheels: dict[str, Path] = {}
    for name, folder, out, process in running:
        _stdout, stderr = process.communicate()
        built = sorted(out.glob("*.whl"))
        if process.returncode != 0 or len(built) != 1:
            raise BundleError(f"building a wheel of {name} ({folder}) failed:\n{stderr.strip()}")
        wheels[name] = built[0]
    return wheels


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _source_files(source_dir: Path) -> Iterator[Path]:
    for path in sorted(source_dir.rglob("*")):
        relative = path.relative_to(source_dir)
        if any(part in _SKIPPED_NAMES or part.startswith(".") for part in relative.parts):
            continue
        if path.suffix == ".pyc" or any(p.endswith(".egg-info") for p in relative.parts):
            continue
        if path.is_file():
            yield path


def _parse_resolution(text: str, local: dict[str, Path]) -> dict[str, tuple[str, set[str]]]:
    """Map each resolved name to its requirement line and the names it is required by.

    A local project's line is its folder's URL (uv writes ``-e file://...`` for a
    workspace member); the caller installs its wheel instead.
    """
    by_url = {folder.as_uri(): name for name, folder in local.items()}
    resolved: dict[str, tuple[str, set[str]]] = {}
    for raw in text.splitlines():
        line, _, comment = raw.partition("#")
        line = line.strip().removeprefix("-e ").strip()
        name = by_url.get(line.split(" @ ")[-1].rstrip("/")) or _requirement_name(line)
        if name is None:
            continue
        via = comment.strip().removeprefix("via").strip()
        parents = {_canonical(v.strip()) for v in via.split(",") if v.strip()} if via else set()
        resolved[name] = (line, parents)
    return resolved


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in _source_files(folder):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + _sha256(path).encode())
    return digest.hexdigest()


def _without_boto3(resolved: dict[str, tuple[str, set[str]]]) -> dict[str, tuple[str, set[str]]]:
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


@attrs.frozen(kw_only=True)
class Bundle:
    """A bundled code folder and what it holds."""

    path: Path
    distributions: tuple[str, ...]


def build_bundle(
    *,
    source_dir: Path,
    python_version: str,
    architecture: str,
    options: BundleOptions,
    default_cache: Path,
) -> Bundle:
    """Bundle the service's code and runtime for one Lambda platform; reuse a cached bundle.

    Args:
        source_dir: The folder the service imports from; copied to the bundle's root.
        python_version: Lambda's Python (``3.11``).
        architecture: ``arm64`` or ``x86_64``.
        options: How to bundle.
        default_cache: Where bundles are kept when ``options.cache_dir`` is unset.

    Raises:
        BundleError: Resolving or installing failed (the message has uv's
            reason), or the service's requirements pull in deploy tooling.
    """
    if architecture not in _PLATFORMS:
        raise BundleError(f"unknown Lambda architecture {architecture!r}: arm64 or x86_64")
    if not source_dir.is_dir():
        raise BundleError(f"source_dir {str(source_dir)!r} is not a folder")
    platform = _PLATFORMS[architecture]
    own = [*project_requirements(source_dir), *options.requirements]
    roots = [RUNTIME_DISTRIBUTION, *(n for r in own if (n := _requirement_name(r)))]
    cache = Path(options.cache_dir or os.environ.get(CACHE_ENV_VAR) or default_cache)
    cache.mkdir(parents=True, exist_ok=True)
    local = _local_distributions(roots)
    lines = [f"{name} @ {folder.as_uri()}" for name, folder in sorted(local.items())]
    if RUNTIME_DISTRIBUTION not in local:
        # The functions run the eventual-aws that planned them.
        lines.append(f"{RUNTIME_DISTRIBUTION}=={metadata.version(RUNTIME_DISTRIBUTION)}")
    lines += own
    index_args = ["--python-platform", platform, "--python-version", python_version]
    if options.offline:
        index_args.append("--offline")
    if options.index_url:
        index_args += ["--index-url", options.index_url]
    for link in options.find_links:
        index_args += ["--find-links", link]
    with tempfile.TemporaryDirectory(dir=cache, prefix="work-") as work_dir:
        work = Path(work_dir)
        (work / "requirements.in").write_text("\n".join(lines) + "\n")
        compiled = _run(
            [
                _uv(),
                "pip",
                "compile",
                "--quiet",
                "--no-header",
                "--annotation-style",
                "line",
                *index_args,
                str(work / "requirements.in"),
            ],
            f"resolving the Lambda requirements for {platform}",
        )
        resolved = _parse_resolution(compiled, local)
        forbidden = sorted(set(resolved) & FORBIDDEN)
        if forbidden:
            detail = "; ".join(
                f"{n} (required by {', '.join(sorted(resolved[n][1])) or 'the service'})"
                for n in forbidden
            )
            raise BundleError(
                f"the Lambda bundle would contain deploy or command-line tooling: {detail}. "
                "Move them out of the service's runtime requirements (a dependency group)"
            )
        if not options.include_boto3:
            resolved = _without_boto3(resolved)
        pins = sorted(line for name, (line, _parents) in resolved.items() if name not in local)
        compile_bytecode = options.compile_bytecode and _same_python(python_version)
        fingerprint = hashlib.sha256()
        fingerprint.update(
            f"{_BUNDLE_FORMAT}|{platform}|{python_version}|{compile_bytecode}\n".encode()
        )
        for pin in pins:
            fingerprint.update(pin.encode() + b"\n")
        for name in sorted(set(local) & set(resolved)):
            fingerprint.update(f"{name}={_tree_digest(local[name])}\n".encode())
        fingerprint.update(_tree_digest(source_dir).encode())
        target = cache / f"bundle-{architecture}-{fingerprint.hexdigest()[:24]}"
        if not target.is_dir():
            _install(
                work,
                target,
                pins=pins,
                wheels=_build_wheels(
                    {n: local[n] for n in set(local) & set(resolved)},
                    work / "wheels",
                    options.offline,
                ),
                index_args=index_args,
                source_dir=source_dir,
                compile_bytecode=compile_bytecode,
            )
    return Bundle(path=target, distributions=tuple(sorted(resolved)))


def _install(
    work: Path,
    target: Path,
    *,
    pins: list[str],
    wheels: dict[str, Path],
    index_args: list[str],
    source_dir: Path,
    compile_bytecode: bool,
) -> None:
    """Install the pinned requirements and local wheels, then the service's code."""
    staging = work / "bundle"
    requirements = [*pins, *(f"{name} @ {wheel.as_uri()}" for name, wheel in wheels.items())]
    (work / "requirements.txt").write_text("\n".join(requirements) + "\n")
    _run(
        [
            _uv(),
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(staging),
            *index_args,
            "-r",
            str(work / "requirements.txt"),
        ],
        "installing the Lambda requirements",
    )
    shutil.rmtree(staging / "bin", ignore_errors=True)
    for path in _source_files(source_dir):
        destination = staging / path.relative_to(source_dir)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
    if compile_bytecode:
        compileall.compile_dir(
            str(staging),
            quiet=2,
            workers=1,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
    try:
        os.replace(staging, target)
    except OSError:  # another synth finished the same bundle first
        if not target.is_dir():
            raise


def _same_python(python_version: str) -> bool:
    return f"{sys.version_info.major}.{sys.version_info.minor}" == python_version
