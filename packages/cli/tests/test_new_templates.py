"""The deploy templates of ``eventual new``: their infrastructure renders offline.

Each template is generated once for the module. The service and its tests are
the local template's (``test_new.py`` lints and type-checks them); here they
pass in the cdk project too, and the infrastructure is proven: the CDK app
synthesizes as ``cdk synth`` runs it (``python3 app.py``), its Lambda code
bundled from uv's cache without reaching an index. The pulumi
and sst templates have modules of their own (``test_new_pulumi.py``,
``test_new_sst.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from eventual_cli._new import NEXT_STEPS

from .new_projects import assert_linted, assert_own_tests_pass, generate

# The CLI does not depend on the renderers; where they are not installed (the
# cli package's isolated run) there is nothing to render with.
eventual_aws = pytest.importorskip("eventual_aws")
pytest.importorskip("eventual_aws_cdk")


@pytest.fixture(scope="module")
def cdk_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a project generated from the cdk template."""
    return generate("cdk", tmp_path_factory.mktemp("cdk") / "my-shop")


@pytest.fixture(scope="module")
def cdk_template(cdk_project: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Run the project's CDK app as cdk.json says, offline; return the stack's template."""
    command = json.loads((cdk_project / "cdk.json").read_text())["app"]
    assert command == "python3 app.py"
    out = tmp_path_factory.mktemp("cdk.out")
    env = {
        **os.environ,
        "CDK_OUTDIR": str(out),  # what the cdk command sets
        "UV_OFFLINE": "1",  # bundle from uv's cache: tests reach no index
        "EVENTUAL_BUNDLE_CACHE": str(tmp_path_factory.mktemp("bundles")),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=cdk_project, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    template: dict[str, object] = json.loads((out / "MyShop.template.json").read_text())
    return template


def test_the_cdk_app_creates_every_function_of_the_services_plan(
    cdk_project: Path, cdk_template: dict[str, object]
) -> None:
    """The synthesized stack has the plan's functions and the ApiUrl and EventBusName outputs."""
    resources = cdk_template["Resources"]
    assert isinstance(resources, dict)
    functions = {
        r["Properties"]["FunctionName"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Function"
    }
    src = str(cdk_project / "src")
    sys.path.insert(0, src)
    try:
        expected = {f.physical_name for f in eventual_aws.plan("my_shop.service").functions}
    finally:
        sys.path.remove(src)
    assert functions == expected
    assert any("send_welcome" in name for name in functions)
    assert any("tally" in name for name in functions)
    outputs = cdk_template["Outputs"]
    assert isinstance(outputs, dict)
    assert set(outputs) == {"ApiUrl", "EventBusName"}


def test_the_cdk_projects_own_tests_pass(cdk_project: Path) -> None:
    """Running pytest in the cdk project runs its two tests of the service, and they pass."""
    pytest.importorskip("eventual_testing")  # the project's dev extra; not a CLI dependency
    assert_own_tests_pass(cdk_project)


def test_the_cdk_project_is_linted_and_says_how_to_deploy(cdk_project: Path) -> None:
    """Ruff finds nothing in app.py and the service; the README's last step deploys."""
    assert_linted(cdk_project)
    readme = (cdk_project / "README.md").read_text()
    assert all(step in readme for step in NEXT_STEPS["cdk"])
    assert NEXT_STEPS["cdk"][-1].endswith("deploy")
    pyproject = (cdk_project / "pyproject.toml").read_text()
    assert 'deploy = ["eventual-aws-cdk"]' in pyproject
