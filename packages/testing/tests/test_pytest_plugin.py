"""The pytest plugin: the eventual_env fixture, its service from pyproject or a marker."""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ["pytester"]

SERVICE_MODULE = """
    from datetime import timedelta

    from eventual import sleep, task, workflow


    @task
    async def greet(name: str) -> str:
        return f"hello {name}"


    @workflow
    async def greet_later(name: str) -> str:
        await sleep(timedelta(days=30))
        return await greet(name)
"""

TESTS = """
    from datetime import timedelta

    import pytest

    from eventual_testing import TestEnvironment
    from {module} import greet, greet_later


    {mark}
    async def test_uses_the_configured_service(eventual_env: TestEnvironment) -> None:
        assert eventual_env.service.module == "{module}"
        eventual_env.mock(greet).returns("mocked")
        handle = await eventual_env.start(greet_later, "ada")
        await eventual_env.advance(timedelta(days=30))
        assert await handle.result() == "mocked"


    {mark}
    async def test_each_test_gets_a_fresh_environment(eventual_env: TestEnvironment) -> None:
        assert eventual_env.now == TestEnvironment.DEFAULT_START
        handle = await eventual_env.start(greet_later, "bob")
        await eventual_env.advance(timedelta(days=30))
        assert await handle.result() == "hello bob"
"""


def write_project(
    pytester: pytest.Pytester,
    module: str,
    *,
    service: str | None,
    mode: str = "auto",
    mark: str = "",
) -> None:
    """Write a service module, a pyproject and a test file using eventual_env."""
    pytester.syspathinsert()
    pytester.makepyfile(**{module: textwrap.dedent(SERVICE_MODULE)})
    tool = f'[tool.eventual]\nservice = "{service}"\n' if service else ""
    pytester.makepyprojecttoml(
        f'[tool.pytest.ini_options]\nasyncio_mode = "{mode}"\n'
        'asyncio_default_fixture_loop_scope = "function"\n' + tool
    )
    pytester.makepyfile(
        **{f"test_{module}": textwrap.dedent(TESTS).format(module=module, mark=mark)}
    )


def test_the_service_comes_from_tool_eventual_in_pyproject(pytester: pytest.Pytester) -> None:
    """With [tool.eventual] service set, eventual_env runs that service, fresh per test."""
    write_project(pytester, "svc_from_pyproject", service="svc_from_pyproject")
    result = pytester.runpytest("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=2)


def test_the_marker_names_the_service(pytester: pytest.Pytester) -> None:
    """@pytest.mark.eventual_service overrides pyproject (here it has no service at all)."""
    write_project(
        pytester,
        "svc_from_marker",
        service=None,
        mark='@pytest.mark.eventual_service("svc_from_marker")',
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=2)


def test_strict_mode_works_with_asyncio_marks(pytester: pytest.Pytester) -> None:
    """In pytest-asyncio's strict mode the fixture works for tests marked asyncio."""
    write_project(
        pytester, "svc_strict", service="svc_strict", mode="strict", mark="@pytest.mark.asyncio"
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=2)


def test_without_a_service_the_error_says_how_to_name_one(pytester: pytest.Pytester) -> None:
    """No marker and no [tool.eventual] service: the error names both ways to fix it."""
    write_project(pytester, "svc_missing", service=None)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*has no [[]tool.eventual[]] service*"])
    result.stdout.fnmatch_lines(["*@pytest.mark.eventual_service(*"])


def test_the_marker_is_registered(pytester: pytest.Pytester) -> None:
    """Pytest --markers lists eventual_service, so --strict-markers accepts it."""
    pytester.makepyprojecttoml(
        '[tool.pytest.ini_options]\nasyncio_default_fixture_loop_scope = "function"\n'
    )
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.eventual_service(service, *, start=None*"])
