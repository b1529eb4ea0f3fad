"""The ``pulumi`` deploy target, found through the ``eventual`` entry points."""

from __future__ import annotations

import ast

import pytest

from eventual import Service as EventualService
from eventual.plugins import Plugins, get_plugin_manager


def test_the_pulumi_target_is_registered_by_its_entry_point() -> None:
    """Installing eventual-pulumi offers the `pulumi` deploy target."""
    plugins = Plugins(get_plugin_manager(autoload=True))
    assert "pulumi" in plugins.deploy_targets()


def test_the_target_writes_a_pulumi_project_for_the_service() -> None:
    """The target's artifact is a Pulumi project whose program deploys the service."""
    target = Plugins(get_plugin_manager(autoload=True)).deploy_target("pulumi")
    service = EventualService.load("orders.service")
    files = target.synthesize(service, {"source_dir": "src"})
    assert isinstance(files, dict)
    assert set(files) == {"Pulumi.yaml", "__main__.py", "requirements.txt"}
    assert "name: orders\n" in files["Pulumi.yaml"]
    program = files["__main__.py"]
    ast.parse(program)
    assert "Service('orders', service='orders.service', source_dir='src')" in program


def test_the_target_refuses_a_service_without_a_module() -> None:
    """A service built from definitions, not a module, cannot be deployed from a program."""
    target = Plugins(get_plugin_manager(autoload=True)).deploy_target("pulumi")
    with pytest.raises(ValueError, match="loaded from a module"):
        target.synthesize(object(), {})
