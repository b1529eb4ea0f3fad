"""The timeline page in a real headless Chromium against a live eventual local.

Chromium comes from Debian's `chromium` package (`.ci/run` installs it); the
tests skip only when no Chromium binary can be found. The screenshot is kept in
the test's temporary folder and, when EVENTUAL_ARTIFACTS names a folder, copied
there.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

RunCli = Callable[..., Result]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")


def _chromium(profile: Path, url: str, *extra: str) -> str:
    assert CHROMIUM is not None
    args = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=5000",
        *extra,
        url,
    ]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _rows(dom: str, kind: str) -> list[str]:
    """Return the text of each timeline row of one kind."""
    found = re.findall(rf'<tr[^>]*data-kind="{kind}"[^>]*>(.*?)</tr>', dom, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", " ", row)) for row in found]


@pytest.fixture
def finished(run_cli: RunCli) -> str:
    """A checkout that ran to its end: two tasks, a retried one, a timer, a child, a publish."""
    name = f"ui-{uuid.uuid4().hex[:8]}"
    order = json.dumps({"id": name, "items": ["book", "lamp"]})
    assert run_cli("start", "checkout", order, "--name", name, "--follow").exit_code == 0
    return f"checkout/{name}"


def test_timeline_shows_the_execution_and_its_tasks(
    live: Any, finished: str, tmp_path: Path
) -> None:
    """The execution page lists each task with its outcome and attempts, the timer and the child."""
    workflow, _, name = finished.partition("/")
    url = f"{live.url}/_eventual/ui/#/executions/{workflow}/{name}"
    dom = _chromium(tmp_path / "profile", url, "--dump-dom")
    assert f'<h1 id="detail-title" tabindex="-1">{finished}</h1>' in dom
    assert "status-SUCCEEDED" in dom
    tasks = _rows(dom, "task")
    assert len(tasks) == 3
    assert 'price("book")' in tasks[0]
    assert "succeeded" in tasks[0]
    assert 'price("lamp")' in tasks[1]
    reserve = tasks[2].split()
    assert f'reserve("{name}",' in tasks[2]
    assert "succeeded" in reserve
    assert "2" in reserve
    assert 'aria-label="task reserve(' in dom
    assert "2 attempts" in dom
    [timer] = _rows(dom, "timer")
    assert "fired" in timer
    [child] = _rows(dom, "child workflow")
    assert f"wrap/{name}-5" in child
    assert "succeeded" in child
    assert len(_rows(dom, "publish")) == 1
    assert f"{name}: 42 (wrapped book)" in html.unescape(dom)

    screenshot = tmp_path / "timeline.png"
    _chromium(tmp_path / "profile", url, f"--screenshot={screenshot}", "--window-size=1280,900")
    data = screenshot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 20_000  # a rendered page, not a blank one
    artifacts = os.environ.get("EVENTUAL_ARTIFACTS")
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(screenshot, Path(artifacts) / "timeline.png")


def test_list_filters_by_workflow_and_status(
    live: Any, finished: str, run_cli: RunCli, tmp_path: Path
) -> None:
    """The list shows executions with links; the workflow and status filters narrow it."""
    waiting = json.loads(run_cli("start", "approve", '"ui"', "--json").stdout)["id"]
    try:
        dom = _chromium(
            tmp_path / "p1", f"{live.url}/_eventual/ui/#/?workflow=checkout", "--dump-dom"
        )
        workflow, _, name = finished.partition("/")
        assert f'href="#/executions/{workflow}/{name}"' in dom
        assert waiting not in dom
        assert '<option value="checkout">checkout</option>' in dom
        running = _chromium(
            tmp_path / "p2", f"{live.url}/_eventual/ui/#/?status=RUNNING", "--dump-dom"
        )
        assert waiting in running
        assert finished not in running
    finally:
        run_cli("cancel", waiting)


def test_asks_for_a_token_when_the_api_needs_one(secured: Any, tmp_path: Path) -> None:
    """Against a service with a token, the page shows the token form instead of data."""
    dom = _chromium(tmp_path / "profile", f"{secured.url}/_eventual/ui/", "--dump-dom")
    assert '<section id="token-panel" class="panel" aria-labelledby="token-title">' in dom
    assert '<section id="list-view" aria-labelledby="list-title" hidden="">' in dom
    assert '<label for="token-input">Bearer token</label>' in dom
