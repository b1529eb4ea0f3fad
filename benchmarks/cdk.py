"""What deploying with the CDK costs: synth time, asset size, and cold import from the asset.

Usage: ``python benchmarks/cdk.py [--offline]`` in an environment with the
workspace installed (``nox -s bench`` has it). Not part of ``run.py``: it has
no peer to compare with; its numbers describe this machine and this service.

- *synth*: ``python3 app.py`` of examples/orders-cdk (what ``cdk synth`` runs),
  once with an empty bundle cache (resolve, install, compile) and once with the
  bundle cached; each in a fresh process, jsii's Node.js start-up included.
- *asset*: the code asset every function of the app shares, unzipped and zipped,
  with and without boto3 (``BundleOptions(include_boto3=...)``).
- *cold import*: for each function of the plan, ``python -X importtime`` of its
  handler module (``eventual_aws.handlers.<kind>``) with only the asset on the
  path, a fresh process each, the median of five; a module the asset does not
  have is reported as missing, with ``eventual_aws`` and ``boto3`` as references.
  The asset is bundled for x86_64 here so that it imports on this machine (the
  orders service's dependencies are pure Python: the same files as arm64's).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from eventual_aws import BundleOptions, build_bundle, plan

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "orders-cdk"
ORDERS_SRC = ROOT / "examples" / "orders" / "src"


def _synth(outdir: Path, cache: Path, offline: bool) -> float:
    env = {
        **os.environ,
        "CDK_OUTDIR": str(outdir),
        "EVENTUAL_BUNDLE_CACHE": str(cache),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    if offline:
        env["UV_OFFLINE"] = "1"
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "app.py"], cwd=EXAMPLE, env=env, check=True, capture_output=True
    )
    return time.perf_counter() - start


def _size(folder: Path) -> tuple[int, int]:
    """Return the unzipped and zipped (deflate, as CDK zips assets) size of a folder."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    unzipped = sum(p.stat().st_size for p in files)
    with tempfile.TemporaryDirectory() as scratch:
        archive = Path(scratch) / "asset.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            for path in files:
                zipped.write(path, path.relative_to(folder))
        return unzipped, archive.stat().st_size


def _import_ms(asset: Path, module: str) -> float | None:
    code = f"import sys; sys.path.insert(0, {str(asset)!r}); import {module}"
    samples = []
    for _ in range(5):
        result = subprocess.run(
            [sys.executable, "-I", "-X", "importtime", "-c", code],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            return None
        # The last line of -X importtime is the module itself, cumulative microseconds.
        last = [line for line in result.stderr.splitlines() if line.startswith("import time:")][-1]
        samples.append(int(last.split("|")[1]) / 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offline", action="store_true", help="bundle from uv's cache only")
    args = parser.parse_args()
    report: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        report["synth_s"] = {
            "empty_bundle_cache": round(_synth(work / "a", work / "cache", args.offline), 2),
            "bundle_cached": round(_synth(work / "b", work / "cache", args.offline), 2),
        }
        sizes = {}
        assets: dict[bool, Path] = {}
        for include_boto3 in (True, False):
            bundle = build_bundle(
                source_dir=ORDERS_SRC,
                python_version="3.11",
                architecture="x86_64",
                options=BundleOptions(offline=args.offline, include_boto3=include_boto3),
                default_cache=work / "cache",
            )
            assets[include_boto3] = bundle.path
            unzipped, zipped = _size(bundle.path)
            key = "with_boto3" if include_boto3 else "without_boto3"
            sizes[key] = {
                "unzipped_mb": round(unzipped / 1e6, 1),
                "zipped_mb": round(zipped / 1e6, 1),
            }
        service_plan = plan("orders.service")
        report["asset_per_function"] = {
            f.name: "one shared asset (with_boto3)" for f in service_plan.functions
        }
        report["asset"] = sizes
        imports: dict[str, object] = {}
        for function in service_plan.functions:
            module = function.handler.rpartition(".")[0]
            took = _import_ms(assets[True], module)
            imports[f"{function.name} ({module})"] = "missing" if took is None else round(took, 1)
        for reference in ("eventual_aws", "boto3", "orders.service"):
            took = _import_ms(assets[True], reference)
            imports[f"reference {reference}"] = "missing" if took is None else round(took, 1)
        report["cold_import_ms"] = imports
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
