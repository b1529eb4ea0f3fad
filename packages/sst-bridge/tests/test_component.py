"""Writing the component into an SST app, and the lines that use it."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventual_sst import add_service, component_source, config_lines


def test_the_component_is_shipped_as_typescript() -> None:
    """The package carries the EventualService component, linkable and rendering the plan."""
    source = component_source()
    assert "export class EventualService" in source
    assert "getSSTLink()" in source
    assert "plan --json" in source.replace('"plan", "--json"', "plan --json")


def test_add_writes_the_component_and_names_the_service_from_the_app(tmp_path: Path) -> None:
    """The component lands in infra/eventual.ts; the lines name the service's folder."""
    service_dir = tmp_path / "services" / "orders"
    service_dir.mkdir(parents=True)
    added = add_service(tmp_path, service="orders.service", service_dir=service_dir)
    assert added.component == tmp_path.resolve() / "infra" / "eventual.ts"
    assert added.component.read_text() == component_source()
    assert added.changed
    assert added.lines == (
        'const { EventualService } = await import("./infra/eventual");',
        'const orders = new EventualService("Orders", '
        '{ service: "orders.service", path: "services/orders" });',
    )


def test_adding_again_updates_only_an_outdated_component(tmp_path: Path) -> None:
    """A second add leaves an up-to-date file alone and replaces an old one."""
    first = add_service(tmp_path, service="orders.service", service_dir=tmp_path)
    assert not add_service(tmp_path, service="orders.service", service_dir=tmp_path).changed
    first.component.write_text("// an older version")
    again = add_service(tmp_path, service="orders.service", service_dir=tmp_path)
    assert again.changed
    assert again.component.read_text() == component_source()


def test_a_service_outside_the_app_is_named_relatively(tmp_path: Path) -> None:
    """A service beside the app (../orders) gets a path relative to the app's root."""
    app = tmp_path / "app"
    app.mkdir()
    (tmp_path / "orders").mkdir()
    added = add_service(app, service="orders.service", service_dir=tmp_path / "orders", name="Shop")
    assert added.lines[1] == (
        'const shop = new EventualService("Shop", '
        '{ service: "orders.service", path: "../orders" });'
    )


def test_a_name_sst_cannot_use_is_refused(tmp_path: Path) -> None:
    """``Resource.<name>`` must be an identifier: a name with a dash is refused, saying so."""
    with pytest.raises(ValueError, match="only letters"):
        add_service(tmp_path, service="orders.service", service_dir=tmp_path, name="my-orders")


def test_config_lines_follow_the_component_file() -> None:
    """A component written elsewhere is imported from there."""
    lines = config_lines(name="Orders", service="o.s", path=".", component="stacks/eventual.ts")
    assert lines[0] == 'const { EventualService } = await import("./stacks/eventual");'
