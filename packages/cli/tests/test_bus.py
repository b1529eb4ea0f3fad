"""eventual bus: listing the services of a local bus file and forgetting one."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import attrs
import pytest
from click.testing import CliRunner

from eventual import Service, event, subscription
from eventual.codec import JsonValue
from eventual.spi import Client, EventEnvelope
from eventual_cli import cli
from eventual_messaging import SqliteBus


@attrs.frozen
class Paid:
    invoice: str


paid = event("Paid", Paid)


@subscription(paid)
async def ledger(p: Paid) -> None:
    pass


@subscription(paid)
async def mailer(p: Paid) -> None:
    pass


def _now() -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def bus_file(tmp_path: Path) -> Path:
    """A bus file where 'accounts' and 'mail' subscribe and two events were published."""
    path = tmp_path / "bus.db"

    async def fill() -> None:
        async with SqliteBus(path) as bus:
            client = cast(Client, object())  # handlers never run here
            accounts = Service.from_definitions("accounts", [ledger])
            mail = Service.from_definitions("mail", [mailer])
            await bus.attach(accounts, client, _now, owner="a")
            await bus.attach(mail, client, _now, owner="m")
            payloads: list[JsonValue] = [{"invoice": "i1"}, {"invoice": "i2"}]
            await bus.publish(
                [
                    EventEnvelope(id=str(i), source="x", name="Paid", time=_now(), payload=p)
                    for i, p in enumerate(payloads)
                ]
            )

    asyncio.run(fill())
    return path


def test_services_lists_what_the_bus_holds(bus_file: Path) -> None:
    """`bus services --json` lists each service with its subscriptions and deliveries."""
    result = CliRunner().invoke(cli, ["bus", "services", "--db", str(bus_file), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {"service": "accounts", "subscriptions": ["ledger"], "waiting": 2, "dead": 0},
        {"service": "mail", "subscriptions": ["mailer"], "waiting": 2, "dead": 0},
    ]
    table = CliRunner().invoke(cli, ["bus", "services", "--db", str(bus_file)])
    assert "accounts" in table.stdout
    assert "ledger" in table.stdout


def test_forget_removes_one_service(bus_file: Path) -> None:
    """`bus forget` asks first, then removes the service's routes and deliveries only."""
    refused = CliRunner().invoke(cli, ["bus", "forget", "mail", "--db", str(bus_file)], input="n\n")
    assert refused.exit_code == 1
    assert "nothing forgotten" in refused.output
    args = ["bus", "forget", "mail", "--db", str(bus_file), "--yes", "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "service": "mail",
        "subscriptions": ["mailer"],
        "waiting": 2,
        "dead": 0,
    }
    listed = CliRunner().invoke(cli, ["bus", "services", "--db", str(bus_file), "--json"])
    assert [s["service"] for s in json.loads(listed.stdout)] == ["accounts"]


def test_a_missing_bus_file_is_one_line(tmp_path: Path) -> None:
    """Naming a file that does not exist is a one-line error, and creates nothing."""
    missing = tmp_path / "nope.db"
    result = CliRunner().invoke(cli, ["bus", "services", "--db", str(missing)])
    assert result.exit_code == 1
    assert "no event bus file at" in result.output
    assert "Traceback" not in result.output
    assert not missing.exists()
