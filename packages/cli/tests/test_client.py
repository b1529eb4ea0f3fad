"""``eventual client typescript``: a typed client of examples/orders, checked by ``tsc``.

The frontend files of ``typescript/`` are type-checked against the client
generated for the orders service: ``frontend.ts`` uses it correctly and must
pass; ``wrong_field.ts`` (an Order's ``qty``) and ``wrong_command.ts``
(``place_ordr``) must each fail, for their own reason. The same goes for a
project ``eventual new`` writes: its client is generated in the project, from
its ``[tool.eventual]`` settings, and ``new_project.ts`` must pass where
``new_project_wrong.ts`` (a sign-up's ``mail``) must fail. One ``npm
install`` (from npm's cache when it holds the pinned packages) and one ``tsc``
run serve the module.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from eventual_cli import cli

FILES = Path(__file__).resolve().parent / "typescript"
ORDERS_SRC = Path(__file__).resolve().parents[3] / "examples" / "orders" / "src"


def _client(*args: str) -> Result:
    return CliRunner().invoke(cli, ["client", "typescript", *args], prog_name="eventual")


def _npm() -> str:
    npm = shutil.which("npm")
    assert npm is not None, "the TypeScript client tests need Node.js and npm"
    return npm


@pytest.fixture(scope="module")
def frontend(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a frontend folder with the pinned npm packages and the orders client in client.ts."""
    app = tmp_path_factory.mktemp("frontend")
    for source in FILES.iterdir():
        shutil.copy(source, app / source.name)
    subprocess.run(
        [_npm(), "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefer-offline"],
        cwd=app,
        check=True,
        capture_output=True,
    )
    cwd = Path.cwd()
    os.chdir(app)  # npm exec finds the installed generator here
    added = str(ORDERS_SRC) not in sys.path
    if added:
        sys.path.insert(0, str(ORDERS_SRC))
    try:
        result = _client("--service", "orders.service", "-o", "client.ts")
    finally:
        os.chdir(cwd)
        if added:
            sys.path.remove(str(ORDERS_SRC))
    assert result.exit_code == 0, result.output
    return app


@pytest.fixture(scope="module")
def new_project_client(frontend: Path) -> Path:
    """Run ``eventual new my-shop`` in the frontend, then ``eventual client typescript`` in it.

    The project sits inside the frontend folder, so that ``npm exec`` finds the
    generator installed there; the client goes beside the frontend files.
    """
    project = frontend / "my-shop"
    created = CliRunner().invoke(cli, ["new", "my-shop", "--directory", str(project)])
    assert created.exit_code == 0, created.output
    cwd, path = Path.cwd(), list(sys.path)
    os.chdir(project)
    try:
        result = _client("-o", "../shop_client.ts")  # the service from [tool.eventual]
    finally:
        os.chdir(cwd)
        sys.path[:] = path
    assert result.exit_code == 0, result.output
    return frontend / "shop_client.ts"


@pytest.fixture(scope="module")
def type_errors(frontend: Path, new_project_client: Path) -> dict[str, list[str]]:
    """Run tsc once over every frontend file; return each file's error lines."""
    tsc = frontend / "node_modules" / ".bin" / "tsc"
    result = subprocess.run(
        [str(tsc), "-p", "tsconfig.json"], cwd=frontend, capture_output=True, text=True, check=False
    )
    errors: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():
        match = re.match(r"(\S+\.ts)\(\d+,\d+\): error (TS\d+: .*)", line)
        if match:
            errors.setdefault(match[1], []).append(match[2])
    return errors


def test_the_client_is_typed_by_the_services_document(frontend: Path) -> None:
    """client.ts types the command's input from Order and exports the openapi-fetch factory."""
    code = (frontend / "client.ts").read_text()
    assert code.startswith("// The typed client of the eventual service 'orders'")
    assert '"/_rpc/place_order": {' in code
    assert '"/orders/{order_id}": {' in code
    assert re.search(r"quantity: number;", code)
    assert "export function createServiceClient" in code
    assert 'from "openapi-fetch"' in code


def test_a_frontend_using_the_client_correctly_type_checks(
    type_errors: dict[str, list[str]], frontend: Path
) -> None:
    """frontend.ts, which places an order and reads a route, has no type error at all."""
    assert type_errors.get("frontend.ts", []) == []
    assert type_errors.get("client.ts", []) == []


def test_a_wrong_field_does_not_type_check(type_errors: dict[str, list[str]]) -> None:
    """Sending qty instead of quantity is an error that names the field."""
    (error,) = type_errors["wrong_field.ts"]
    assert error.startswith("TS2353:")
    assert "'qty'" in error


def test_a_wrong_command_name_does_not_type_check(type_errors: dict[str, list[str]]) -> None:
    """Posting to a command the service lacks is an error that names the path."""
    (error,) = type_errors["wrong_command.ts"]
    assert error.startswith("TS2345:")
    assert '"/_rpc/place_ordr"' in error


def test_a_new_projects_client_types_its_frontend(
    type_errors: dict[str, list[str]], new_project_client: Path
) -> None:
    """The client of a new project types sign_up: a correct call passes, a wrong field fails."""
    code = new_project_client.read_text()
    assert code.startswith("// The typed client of the eventual service 'my_shop'")
    assert '"/_rpc/sign_up": {' in code
    assert type_errors.get("new_project.ts", []) == []
    assert type_errors.get("shop_client.ts", []) == []
    (error,) = type_errors["new_project_wrong.ts"]
    assert error.startswith("TS2561:")  # an unknown property, with a suggestion
    assert "'mail'" in error
    assert "Did you mean to write 'email'?" in error


def test_without_a_service_the_command_says_how_to_name_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside a project and without --service, nothing is generated and the usage says why."""
    monkeypatch.chdir(tmp_path)
    result = _client("-o", "client.ts")
    assert result.exit_code == 2
    assert "--service" in result.output
    assert not (tmp_path / "client.ts").exists()


def test_without_npm_the_command_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no npm on PATH the error asks for Node.js and npm."""
    monkeypatch.syspath_prepend(ORDERS_SRC)
    monkeypatch.setenv("PATH", "")
    result = _client("--service", "orders.service")
    assert result.exit_code == 1
    assert "needs Node.js and npm" in result.output
