"""Bundling the Lambda code: what goes in, what is refused, what boto3's absence removes."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventual_aws_cdk import BundleError, BundleOptions
from eventual_aws_cdk._bundle import (
    _parse_resolution,
    _without_boto3,
    build_bundle,
    project_requirements,
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
    kept = _without_boto3(_parse_resolution(RESOLUTION, {}))
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
