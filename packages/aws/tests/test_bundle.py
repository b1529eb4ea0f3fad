"""``build_bundle``, every renderer's bundler: what goes in, is refused, or goes with boto3."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventual_aws import Bundle, BundleError, BundleOptions, build_bundle
from eventual_aws._bundle._requirements import (
    parse_resolution,
    project_requirements,
    without_boto3,
)

ORDERS_SRC = Path(__file__).resolve().parents[3] / "examples" / "orders" / "src"


@pytest.fixture(scope="module")
def bundle_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One bundle cache folder for the module."""
    return tmp_path_factory.mktemp("eventual-bundles")


@pytest.fixture(scope="module")
def built(bundle_cache: Path) -> Bundle:
    """Bundle the orders example once for the module, from uv's cache."""
    return build_bundle(
        source_dir=ORDERS_SRC,
        python_version="3.11",
        architecture="arm64",
        options=BundleOptions(offline=True, cache_dir=str(bundle_cache)),
    )


RESOLUTION = """\
attrs==26.1.0             # via cattrs, eventual-core, -r requirements.in
boto3==1.44.8             # via eventual-aws
botocore==1.44.8          # via boto3, s3transfer
jmespath==1.1.0           # via boto3, botocore
python-dateutil==2.9.0.post0  # via botocore
requests==2.32.0          # via -r requirements.in
s3transfer==0.19.3        # via boto3
six==1.17.0               # via python-dateutil
urllib3==2.8.0            # via botocore, requests
"""


def test_leaving_boto3_out_drops_only_what_it_alone_needs() -> None:
    """Without boto3, botocore and its own dependencies go; urllib3, needed by requests, stays."""
    kept = without_boto3(parse_resolution(RESOLUTION, {}))
    assert sorted(kept) == ["attrs", "requests", "urllib3"]


def test_requirements_come_from_the_project_of_a_src_layout(tmp_path: Path) -> None:
    """A ``src`` source folder takes its project's dependencies from the pyproject above it."""
    (tmp_path / "src").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "shop"\nversion = "1"\ndependencies = ["attrs>=23", "httpx"]\n'
    )
    assert project_requirements(tmp_path / "src") == ["attrs>=23", "httpx"]
    (tmp_path / "src" / "requirements.txt").write_text("# pinned\nattrs==26.1.0\n")
    assert project_requirements(tmp_path / "src") == ["attrs==26.1.0"]


def test_deploy_tooling_in_the_service_requirements_is_refused(
    tmp_path: Path, bundle_cache: Path
) -> None:
    """A service requiring click (the CLI's) gets an error naming it, not a bloated bundle."""
    (tmp_path / "requirements.txt").write_text("click\n")
    with pytest.raises(BundleError, match=r"click \(required by .*requirements"):
        build_bundle(
            source_dir=tmp_path,
            python_version="3.11",
            architecture="arm64",
            options=BundleOptions(offline=True),
            default_cache=bundle_cache,
        )


def test_an_unknown_architecture_is_refused(tmp_path: Path, bundle_cache: Path) -> None:
    """Only Lambda's two architectures are accepted, by name."""
    with pytest.raises(BundleError, match="arm64 or x86_64"):
        build_bundle(
            source_dir=tmp_path,
            python_version="3.11",
            architecture="riscv",
            options=BundleOptions(),
            default_cache=bundle_cache,
        )


def test_a_bundle_holds_the_service_and_the_runtime_without_deploy_tooling(built: Bundle) -> None:
    """The folder has the service's code at its root and eventual-aws, and no CLI or CDK."""
    names = {p.name for p in built.path.iterdir()}
    assert {"orders", "eventual", "eventual_engine", "eventual_aws", "boto3"} <= names
    assert {"aws_cdk", "pulumi", "click", "uvicorn", "eventual_cli"}.isdisjoint(names)
    assert "eventual-aws" in built.distributions
    assert (built.python_version, built.architecture) == ("3.11", "arm64")


def test_an_unchanged_service_reuses_its_bundle(built: Bundle, bundle_cache: Path) -> None:
    """Bundling again with nothing changed returns the cached folder."""
    again = build_bundle(
        source_dir=ORDERS_SRC,
        python_version="3.11",
        architecture="arm64",
        options=BundleOptions(offline=True, cache_dir=str(bundle_cache)),
    )
    assert again.path == built.path
    assert len([p for p in bundle_cache.iterdir() if p.name.startswith("bundle-")]) == 1
