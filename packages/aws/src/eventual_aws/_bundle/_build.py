"""``build_bundle``: one Lambda code archive for every function of a plan, built without Docker.

Lambda runs Linux on arm64 or x86_64, so the archive cannot hold what the
machine deploying it happens to have installed. It holds wheels installed for
the plan's runtime and architecture instead (``uv pip install --target
--python-platform <arch>-manylinux2014 --only-binary :all:``): pure Python
wheels work anywhere, and a native dependency must publish a manylinux wheel,
which nearly all do. Docker would build anything, but needs a daemon that CI
machines and laptops often lack; a renderer that synthesizes offline is worth
more than the rare source-only dependency.

Workspace distributions installed from a folder (``pip install -e``) are on no
index, so they are built as wheels from that folder first. The archive is cached
by the hash of everything that goes into it, so rendering again (``pulumi
preview``, ``cdk synth``) costs one hash, and the zip is reproducible (sorted
entries, fixed timestamps), so an unchanged service never redeploys its code.

Subprocess, tempfile, zipfile, shutil and importlib.metadata are imported where
used: handlers import ``eventual_aws`` on every cold start and never build
bundles.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Final

import attrs

from .._plan import ServicePlan
from ._requirements import (
    EXCLUDED,
    RUNTIME_REQUIREMENT,
    BundleError,
    local_distributions,
    normalize,
    requirement_name,
    service_requirements,
)

__all__ = ["BUNDLE_FORMAT", "Bundle", "build_bundle", "source_files"]

BUNDLE_FORMAT: Final = 1
"""Raised when the layout of a bundle changes, so that cached bundles are rebuilt."""

_SKIPPED_DIRS: Final = frozenset(
    {"__pycache__", "tests", "node_modules", "build", "dist", "cdk.out", "venv"}
)
_SKIPPED_FILES: Final = frozenset({"pyproject.toml", "requirements.txt", "uv.lock"})
_SKIPPED_SUFFIXES: Final = (".pyc", ".pyo", ".egg-info", ".zip")
_PLATFORMS: Final = {"arm64": "aarch64-manylinux2014", "x86_64": "x86_64-manylinux2014"}
_ZIP_TIME: Final = (1980, 1, 1, 0, 0, 0)


@attrs.frozen(kw_only=True)
class Bundle:
    """A built Lambda code archive.

    Attributes:
        path: The zip file, ready to upload as every function's code.
        sha256: The hex SHA-256 of the zip file.
        distributions: The distributions installed in it, by normalized name,
            with their versions.
        runtime: The Lambda runtime it was built for (``python3.11``).
        architecture: The instruction set it was built for (``arm64``).
    """

    path: Path
    sha256: str
    distributions: dict[str, str]
    runtime: str
    architecture: str


def build_bundle(
    plan: ServicePlan,
    source_dir: str | os.PathLike[str],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    requirements: Sequence[str] = (),
) -> Bundle:
    """Build (or reuse) the code archive every function of ``plan`` runs.

    The archive holds the service's code (the files of ``source_dir``, tests,
    caches and hidden files left out), its dependencies (``pyproject.toml``'s
    ``[project] dependencies`` or ``requirements.txt`` in ``source_dir``) and
    ``eventual-aws`` with what it needs, installed as wheels for the plan's
    runtime and architecture. Deploy and developer tools (pulumi, aws-cdk-lib,
    click, uvicorn, the eventual CLI, ...) are never installed.

    Args:
        plan: The service's plan; its functions give the runtime and
            architecture, and its module must import from ``source_dir``.
        source_dir: The folder the service module imports from.
        cache_dir: Where archives are kept, by content hash; defaults to
            ``EVENTUAL_BUNDLE_DIR`` when set (a CI cache), else
            ``.eventual/bundles`` in the current directory.
        requirements: More requirements to install (``"orjson>=3"``).

    Returns:
        The archive, built now or found in the cache.

    Raises:
        BundleError: The source folder does not hold the service, the plan's
            functions disagree on runtime or architecture, or installing failed
            (the installer's message is included).
    """
    source = Path(source_dir).resolve()
    runtime, architecture = _target(plan)
    python_version = runtime.removeprefix("python")
    _check_source(plan, source)
    wanted = [
        RUNTIME_REQUIREMENT,
        *service_requirements(source),
        *(r for r in requirements if requirement_name(r) not in EXCLUDED),
    ]
    local = local_distributions(requirement_name(r) for r in wanted)
    files = source_files(source)
    key = _cache_key(runtime, architecture, wanted, local, source, files)
    if cache_dir is None:
        cache_dir = os.environ.get("EVENTUAL_BUNDLE_DIR") or Path.cwd() / ".eventual" / "bundles"
    cache = Path(cache_dir)
    archive = cache / f"{plan.service}-{key[:16]}.zip"
    manifest = archive.with_suffix(".json")
    if archive.is_file() and manifest.is_file():
        return _bundle_from(archive, manifest, runtime, architecture)
    import tempfile

    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="eventual-bundle-") as scratch:
        work = Path(scratch)
        wheels = _build_wheels(local, work / "wheels")
        target = work / "bundle"
        _install(wanted, wheels, target, python_version, architecture, work)
        _remove_excluded(target)
        _copy_source(source, files, target)
        distributions = _installed(target)
        partial = archive.with_suffix(".zip.partial")
        _zip(target, partial)
        manifest.write_text(json.dumps({"distributions": distributions}, indent=2, sort_keys=True))
        partial.replace(archive)
    return _bundle_from(archive, manifest, runtime, architecture)


def source_files(source: Path) -> list[Path]:
    """Return the files of the service's code in ``source``, relative, sorted.

    Hidden files and folders, ``__pycache__``, ``tests``, build output, virtual
    environments and the project files (``pyproject.toml``,
    ``requirements.txt``) are left out.
    """
    found: list[Path] = []
    for root, dirs, names in os.walk(source):
        dirs[:] = sorted(d for d in dirs if not _skipped(d, _SKIPPED_DIRS))
        for name in names:
            if not _skipped(name, _SKIPPED_FILES):
                found.append((Path(root) / name).relative_to(source))
    return sorted(found)


def _skipped(name: str, names: frozenset[str]) -> bool:
    return name.startswith(".") or name in names or name.endswith(_SKIPPED_SUFFIXES)


def _target(plan: ServicePlan) -> tuple[str, str]:
    targets = {(f.runtime, f.architecture) for f in plan.functions}
    if len(targets) != 1:
        raise BundleError(
            f"the functions of {plan.service!r} run on {sorted(targets)}; one archive "
            "serves one runtime and architecture"
        )
    runtime, architecture = targets.pop()
    if not runtime.startswith("python3.") or architecture not in _PLATFORMS:
        raise BundleError(f"cannot bundle for {runtime} on {architecture}")
    return runtime, architecture


def _check_source(plan: ServicePlan, source: Path) -> None:
    top = plan.module.split(".", 1)[0]
    if not source.is_dir():
        raise BundleError(f"source_dir {source} is not a folder")
    if not ((source / top).is_dir() or (source / f"{top}.py").is_file()):
        raise BundleError(
            f"{plan.module!r} does not import from {source}: neither {top}/ nor {top}.py is "
            "there; source_dir is the folder the service module imports from "
            "(for a src layout, its src folder)"
        )


def _cache_key(
    runtime: str,
    architecture: str,
    wanted: Sequence[str],
    local: dict[str, Path],
    source: Path,
    files: Sequence[Path],
) -> str:
    digest = hashlib.sha256()
    header = {
        "format": BUNDLE_FORMAT,
        "runtime": runtime,
        "architecture": architecture,
        "requirements": sorted(wanted),
        "excluded": sorted(EXCLUDED),
    }
    digest.update(json.dumps(header, sort_keys=True).encode())
    for name, folder in sorted(local.items()):
        digest.update(f"\0dist {name}\0".encode())
        _hash_files(digest, folder, _package_files(folder))
    digest.update(b"\0source\0")
    _hash_files(digest, source, files)
    return digest.hexdigest()


def _package_files(folder: Path) -> Iterator[Path]:
    yield Path("pyproject.toml")
    src = folder / "src"
    yield from (
        (Path("src") / f for f in source_files(src)) if src.is_dir() else source_files(folder)
    )


def _hash_files(digest: hashlib._Hash, root: Path, files: Iterable[Path]) -> None:
    for relative in files:
        digest.update(f"\0{relative.as_posix()}\0".encode())
        digest.update((root / relative).read_bytes())


def _uv() -> str:
    import shutil

    try:
        from uv import find_uv_bin
    except ImportError:
        found = shutil.which("uv")
        if found is None:
            raise BundleError(
                "building a bundle needs uv: install eventual-aws[bundle] (or put uv on PATH)"
            ) from None
        return found
    return str(find_uv_bin())


def _run(command: list[str], what: str) -> None:
    import subprocess

    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BundleError(f"{what} failed ({' '.join(command)}):\n{done.stderr.strip()}")


def _build_wheels(local: dict[str, Path], out: Path) -> dict[str, Path]:
    out.mkdir(parents=True)
    wheels: dict[str, Path] = {}
    for name, folder in sorted(local.items()):
        before = set(out.glob("*.whl"))
        _run(
            [_uv(), "build", "--wheel", "--quiet", "--out-dir", str(out), str(folder)],
            f"building {name} from {folder}",
        )
        built = sorted(set(out.glob("*.whl")) - before)
        if len(built) != 1:
            raise BundleError(f"building {name} from {folder} made {len(built)} wheels, not one")
        wheels[name] = built[0]
    return wheels


def _install(
    wanted: Sequence[str],
    wheels: dict[str, Path],
    target: Path,
    python_version: str,
    architecture: str,
    work: Path,
) -> None:
    lines = [r for r in wanted if requirement_name(r) not in wheels]
    lines += [f"{name} @ {wheel.as_uri()}" for name, wheel in sorted(wheels.items())]
    requirements = work / "requirements.txt"
    requirements.write_text("\n".join(lines) + "\n")
    # An override whose marker never holds takes a distribution out of the
    # resolution, even when something the service needs depends on it.
    overrides = work / "overrides.txt"
    overrides.write_text("".join(f"{n} ; sys_platform == 'never'\n" for n in sorted(EXCLUDED)))
    _run(
        [
            _uv(),
            "pip",
            "install",
            "--quiet",
            "--python",
            sys.executable,
            "--target",
            str(target),
            "--python-version",
            python_version,
            "--python-platform",
            _PLATFORMS[architecture],
            "--only-binary",
            ":all:",
            "--no-compile",
            "--overrides",
            str(overrides),
            "--requirement",
            str(requirements),
        ],
        "installing the bundle's distributions",
    )


def _remove_excluded(target: Path) -> None:
    import shutil

    # Scripts are of no use to a handler and name the building machine's interpreter.
    shutil.rmtree(target / "bin", ignore_errors=True)
    # The installer's lock on the target folder.
    (target / ".lock").unlink(missing_ok=True)
    for cache in list(target.rglob("__pycache__")):
        shutil.rmtree(cache, ignore_errors=True)


def _copy_source(source: Path, files: Sequence[Path], target: Path) -> None:
    import shutil

    for relative in files:
        destination = target / relative
        if destination.exists():
            raise BundleError(
                f"{relative.as_posix()} of the service's code has the name of an installed "
                "file; rename it"
            )
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / relative, destination)


def _installed(target: Path) -> dict[str, str]:
    from importlib import metadata

    found: dict[str, str] = {}
    for distribution in metadata.distributions(path=[str(target)]):
        found[normalize(distribution.metadata["Name"])] = distribution.version
    return dict(sorted(found.items()))


def _zip(folder: Path, archive: Path) -> None:
    import zipfile

    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        entries = sorted((p.relative_to(folder).as_posix(), p) for p in folder.rglob("*"))
        for name, path in entries:
            if not path.is_file():
                continue
            info = zipfile.ZipInfo(name, _ZIP_TIME)
            info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(info, path.read_bytes())


def _bundle_from(archive: Path, manifest: Path, runtime: str, architecture: str) -> Bundle:
    distributions = json.loads(manifest.read_text())["distributions"]
    return Bundle(
        path=archive,
        sha256=hashlib.sha256(archive.read_bytes()).hexdigest(),
        distributions={str(k): str(v) for k, v in distributions.items()},
        runtime=runtime,
        architecture=architecture,
    )
