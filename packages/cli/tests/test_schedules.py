"""`eventual schedules` against a live eventual local: list, pause, resume."""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from eventual_cli import cli

from .conftest import LiveServer, start_server, stop_server
from .test_ui_page import CHROMIUM, _chromium

RunCli = Callable[..., Result]


@pytest.fixture(scope="module")
def timed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One `eventual local` of the scheduled service for this module."""
    server = start_server(tmp_path_factory.mktemp("timed"), service="timed")
    yield server
    stop_server(server)


@pytest.fixture
def run(timed: LiveServer) -> RunCli:
    """Run `eventual ARGS...` against the scheduled service."""

    def invoke(*args: str) -> Result:
        environment = {"EVENTUAL_URL": timed.url, "COLUMNS": "200"}
        return CliRunner().invoke(cli, list(args), env=environment)

    return invoke


def _listed(run: RunCli) -> dict[str, dict[str, object]]:
    result = run("schedules", "--json")
    assert result.exit_code == 0, result.output
    return {row["workflow"]: row for row in json.loads(result.stdout)}


def test_schedules_are_listed(run: RunCli) -> None:
    """The table names each scheduled workflow, its schedule, policies and next run."""
    result = run("schedules")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    morning = next(line for line in lines if "morning_report" in line)
    assert "cron 0 9 * * MON-FRI (Europe/Paris)" in morning
    assert "buffer_one" in morning
    assert "active" in morning
    weekly = next(line for line in lines if "weekly_cleanup" in line)
    assert "every 7d" in weekly
    assert "skip" in weekly
    listed = _listed(run)
    assert listed["weekly_cleanup"]["interval_seconds"] == 7 * 86400
    assert listed["morning_report"]["next_run"] is not None


def test_pause_and_resume(run: RunCli, timed: LiveServer) -> None:
    """Pausing shows the schedule paused without a next run; resuming makes it active again."""
    paused = run("schedules", "pause", "weekly_cleanup")
    assert paused.exit_code == 0, paused.output
    assert "paused the schedule of weekly_cleanup" in paused.output
    _wait_until(run, lambda rows: rows["weekly_cleanup"]["paused"] is True)
    assert _listed(run)["weekly_cleanup"]["next_run"] is None
    resumed = run("schedules", "resume", "weekly_cleanup", "--json")
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.stdout) == {"accepted": True}
    _wait_until(run, lambda rows: rows["weekly_cleanup"]["paused"] is False)


def test_unknown_workflow_is_an_error(run: RunCli) -> None:
    """Pausing a workflow that has no schedule fails, naming the scheduled workflows."""
    result = run("schedules", "pause", "nightly")
    assert result.exit_code != 0
    assert "'nightly' has no schedule" in result.output
    assert "morning_report, weekly_cleanup" in result.output


def test_options_given_to_the_group_reach_pause_and_resume(timed: LiveServer) -> None:
    """``eventual schedules --url URL pause WORKFLOW`` pauses at URL, not at the default service."""
    runner = CliRunner()
    dead = {"EVENTUAL_URL": "http://127.0.0.1:9", "COLUMNS": "200"}
    for action in ("pause", "resume"):
        result = runner.invoke(
            cli, ["schedules", "--url", timed.url, "--json", action, "weekly_cleanup"], env=dead
        )
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout) == {"accepted": True}
    # Given to the subcommand, an option wins over the group's.
    result = runner.invoke(
        cli,
        ["schedules", "--url", "http://127.0.0.1:9", "pause", "--url", timed.url, "nightly"],
        env=dead,
    )
    assert "'nightly' has no schedule" in result.output


def _wait_until(run: RunCli, check: Callable[[dict[str, dict[str, object]]], bool]) -> None:
    """Re-read the listing until ``check`` holds (the scheduler applies signals shortly)."""
    deadline = time.monotonic() + 20
    while not check(_listed(run)):
        assert time.monotonic() < deadline, "the schedule did not change"
        time.sleep(0.05)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_the_timeline_page_lists_the_schedules(timed: LiveServer, tmp_path: Path) -> None:
    """The timeline UI's list shows each scheduled workflow with its schedule and state."""
    dom = _chromium(tmp_path / "profile", f"{timed.url}/_eventual/ui/", "--dump-dom")
    assert '<div id="schedules-section">' in dom
    rows = re.findall(r'<tr data-schedule="([^"]+)">(.*?)</tr>', dom, re.S)
    cells = {name: html.unescape(re.sub(r"<[^>]+>", "|", row)) for name, row in rows}
    assert set(cells) == {"morning_report", "weekly_cleanup"}
    assert "cron 0 9 * * MON-FRI (Europe/Paris)" in cells["morning_report"]
    assert "buffer_one, once" in cells["morning_report"]
    assert "every 7 d" in cells["weekly_cleanup"]


def test_a_service_without_schedules_says_so(run_cli: RunCli) -> None:
    """Against a service without scheduled workflows the command says there are none."""
    result = run_cli("schedules")
    assert result.exit_code == 0, result.output
    assert "no scheduled workflows" in result.output


def test_pausing_a_cancelled_schedule_fails(run: RunCli) -> None:
    """Once its scheduler is cancelled, pausing a schedule exits non-zero and says it ended."""
    # Last in the module: the shared service keeps weekly_cleanup's scheduler ended.
    cancelled = run("cancel", "eventual.schedule/weekly_cleanup")
    assert cancelled.exit_code == 0, cancelled.output
    deadline = time.monotonic() + 20
    while (paused := run("schedules", "pause", "weekly_cleanup")).exit_code == 0:
        assert time.monotonic() < deadline, "the scheduler was not cancelled"
        time.sleep(0.05)
    assert "paused the schedule" not in paused.output
    assert "eventual.schedule/weekly_cleanup has ended (CANCELLED)" in paused.output
    assert "stops for good" in paused.output
