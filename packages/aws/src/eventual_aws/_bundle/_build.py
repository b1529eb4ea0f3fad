"""``build_bundle``: the service's code and its runtime, installed for Lambda's platform.

Every renderer (the CDK construct, the Pulumi component, the SST bridge)
bundles through this one function. Bundling runs on the machine that renders,
without Docker: uv resolves the requirements for the function's Python version
and architecture (``--python-platform aarch64-manylinux2014``) and installs only
wheels built for that platform, so a compiled dependency is Lambda's build of
it, not the host's. Workspace distributions installed in editable mode (a
monorepo, this repository) are built as wheels first, so rendering works from a
checkout as well as from released wheels, and offline when uv's cache holds the
rest.

One bundle serves every function of a given runtime and architecture: the
handlers differ only by their entry point. Bundles are kept in a cache keyed by
everything that goes into them, so a second render reuses the first's.

Rejected: Docker bundling (``aws-lambda-python-alpha``) needs a daemon the
rendering machine may not have; ``pip install --platform`` refuses to mix a
local project with platform constraints; Lambda layers add a second asset for no
gain when every function runs the same code.

subprocess, tempfile, shutil and compileall are imported where used: handlers
import ``eventual_aws`` on every cold start and never build bundles.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

import attrs

from ._options import CACHE_ENV_VAR, FORBIDDEN, RUNTIME_DISTRIBUTION, BundleError, BundleOptions
from ._requirements import (
    local_distributions,
    parse_resolution,
    project_requirements,
    requirement_name,
    without_boto3,
)

__all__ = ["Bundle", "build_bundle", "source_files"]

_SKIPPED_NAMES: Final = frozenset(
    {"__pycache__", ".venv", "venv", "node_modules", "cdk.out", ".git", ".mypy_cache"}
)
_PLATFORMS: Final = {"arm64": "aarch64-manylinux2014", "x86_64": "x86_64-manylinux2014"}
_BUNDLE_FORMAT: Final = "1"


@attrs.frozen(kw_only=True)
class Bundle:
    """A bundled Lambda code folder and what it holds.

    Attributes:
        path: The folder, the code of every function of its runtime and
            architecture (``lambda_.Code.from_asset``, ``pulumi.FileArchive``).
        distributions: The distributions installed in it, by normalized name.
        python_version: The Lambda Python it was built for (``3.11``).
        architecture: The instruction set it was built for (``arm64``).
    """

    path: Path
    distributions: tuple[str, ...]
    python_version: str
    architecture: str


def _uv() -> str:
    import shutil

    try:
        from uv import find_uv_bin
    except ImportError:  # pragma: no cover - eventual-aws[bundle] has uv; PATH is a fallback
        found = shutil.which("uv")
        if found is None:
            raise BundleError(
                'uv is needed to bundle Lambda code: pip install "eventual-aws[bundle]"'
            ) from None
        return found
    return str(find_uv_bin())


def _run(args: Sequence[str], what: str) -> str:
    import subprocess

    result = subprocess.run(args, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BundleError(f"{what} failed:\n{result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


def _build_wheels(projects: dict[str, Path], wheelhouse: Path, offline: bool) -> dict[str, Path]:
    """Build a wheel of each local project, all at once (each build is a process)."""
    import subprocess

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


def source_files(source_dir: Path) -> Iterator[Path]:
    """Yield the files of the service's code, sorted; hidden files, caches and builds left out."""
    for path in sorted(source_dir.rglob("*")):
        relative = path.relative_to(source_dir)
        if any(part in _SKIPPED_NAMES or part.startswith(".") for part in relative.parts):
            continue
        if path.suffix == ".pyc" or any(p.endswith(".egg-info") for p in relative.parts):
            continue
        if path.is_file():
            yield path


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in source_files(folder):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + _sha256(path).encode())
    return digest.hexdigest()


def build_bundle(
    *,
    source_dir: str | os.PathLike[str],
    python_version: str,
    architecture: str,
    options: BundleOptions | None = None,
    default_cache: str | os.PathLike[str] | None = None,
) -> Bundle:
    """Bundle the service's code and runtime for one Lambda platform; reuse a cached bundle.

    Args:
        source_dir: The folder the service imports from; copied to the bundle's root.
        python_version: Lambda's Python (``3.11``; a plan function's runtime
            without ``python``).
        architecture: ``arm64`` or ``x86_64``.
        options: How to bundle (default: ``BundleOptions()``).
        default_cache: Where bundles are kept when neither ``options.cache_dir``
            nor ``EVENTUAL_BUNDLE_CACHE`` says (default: ``.eventual/bundles``
            in the current folder).

    Raises:
        BundleError: Resolving or installing failed (the message has uv's
            reason), or the service's requirements pull in deploy tooling.
    """
    import tempfile
    from importlib import metadata

    options = options or BundleOptions()
    source = Path(source_dir)
    if architecture not in _PLATFORMS:
        raise BundleError(f"unknown Lambda architecture {architecture!r}: arm64 or x86_64")
    if not source.is_dir():
        raise BundleError(f"source_dir {str(source)!r} is not a folder")
    platform = _PLATFORMS[architecture]
    own = [*project_requirements(source), *options.requirements]
    roots = [RUNTIME_DISTRIBUTION, *(n for r in own if (n := requirement_name(r)))]
    cache = Path(
        options.cache_dir
        or os.environ.get(CACHE_ENV_VAR)
        or default_cache
        or Path.cwd() / ".eventual" / "bundles"
    )
    cache.mkdir(parents=True, exist_ok=True)
    local = local_distributions(roots)
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
        resolved = parse_resolution(compiled, local)
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
            resolved = without_boto3(resolved)
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
        fingerprint.update(_tree_digest(source).encode())
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
                source_dir=source,
                compile_bytecode=compile_bytecode,
            )
    return Bundle(
        path=target,
        distributions=tuple(sorted(resolved)),
        python_version=python_version,
        architecture=architecture,
    )


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
    import compileall
    import py_compile
    import shutil

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
    for path in source_files(source_dir):
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
    except OSError:  # another render finished the same bundle first
        if not target.is_dir():
            raise


def _same_python(python_version: str) -> bool:
    return f"{sys.version_info.major}.{sys.version_info.minor}" == python_version
