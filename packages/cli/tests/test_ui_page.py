"""The timeline page in a real headless Chromium against a live eventual local.

Chromium comes from Debian's `chromium` package (`.ci/run` installs it); the
tests skip only when no Chromium binary can be found. The screenshot is kept in
the test's temporary folder and, when EVENTUAL_ARTIFACTS names a folder, copied
there.
"""

from __future__ import annotations

import fcntl
import html
import json
import os
import re
import shutil
import subprocess
import time
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
    """The execution page lists each call with its outcome and attempts, and the lines logged."""
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
    # The failed attempt's error is in the bar's label, not only in a tooltip.
    assert "2 attempts; attempt 1 failed: ConnectionError: warehouse busy, book not reserved" in (
        html.unescape(dom)
    )
    [timer] = _rows(dom, "timer")
    assert "fired" in timer
    [child] = _rows(dom, "child workflow")
    assert f"wrap/{name}-5" in child
    assert "succeeded" in child
    assert len(_rows(dom, "publish")) == 1
    assert f"{name}: 42 (wrapped book)" in html.unescape(dom)
    # Beside the calls: the lines its tasks logged, with the call each belongs to.
    logs = dom.split('id="logs"')[1].split("</table>")[0]
    assert "pricing book" in logs
    assert "pricing lamp" in logs
    assert "price (attempt 1)" in logs

    screenshot = tmp_path / "timeline.png"
    _chromium(tmp_path / "profile", url, f"--screenshot={screenshot}", "--window-size=1280,900")
    data = screenshot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 20_000  # a rendered page, not a blank one
    artifacts = os.environ.get("EVENTUAL_ARTIFACTS")
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(screenshot, Path(artifacts) / "timeline.png")


def test_timeline_shows_every_run_of_an_execution_continued_as_new(
    live: Any, run_cli: RunCli, tmp_path: Path
) -> None:
    """Each run's calls are on one timeline, with a row for each hand-over to the next run."""
    name = f"ui-{uuid.uuid4().hex[:8]}"
    assert run_cli("start", "rollover", "1", "--name", name, "--follow").exit_code == 0
    url = f"{live.url}/_eventual/ui/#/executions/rollover/{name}"
    dom = _chromium(tmp_path / "profile", url, "--dump-dom")
    assert "status-SUCCEEDED" in dom
    assert "billed 3 months" in dom
    continued = _rows(dom, "continued as new")
    assert len(continued) == 2
    assert "run 1 \u2192 run 2 with 2" in continued[0]
    assert "run 2 \u2192 run 3 with 3" in continued[1]
    prices = _rows(dom, "task")
    assert len(prices) == 3  # one per run
    assert all('price("pen")' in row and "succeeded" in row for row in prices)
    # The reminder each run left waiting was cancelled by its hand-over.
    reminders = [row for row in _rows(dom, "timer") if "cancelled" in row]
    assert len(reminders) == 2
    summary = html.unescape(dom.split('id="summary"')[1].split("</dl>")[0])
    assert re.search(r"Runs\s*</dt>\s*<dd[^>]*>\s*3 \(continued as new", summary), summary
    logs = dom.split('id="logs"')[1].split("</table>")[0]
    assert "month 1 billed" in logs
    assert "month 2 billed" in logs


class _Page:
    """A page in a headless Chromium driven over the DevTools protocol on a pipe.

    ``--dump-dom`` takes one snapshot soon after loading; following a running
    execution needs a page that stays open while the test acts on the service.
    """

    def __init__(self, profile: Path, url: str) -> None:
        assert CHROMIUM is not None
        to_browser, self._commands = os.pipe()
        self._answers, from_browser = os.pipe()

        def pipes_as_3_and_4() -> None:  # where --remote-debugging-pipe expects them
            # Above 4 first, so that neither is overwritten by the other's dup2.
            reads, writes = (
                fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_browser, from_browser)
            )
            os.dup2(reads, 3)
            os.dup2(writes, 4)

        args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
        args += ["--remote-debugging-pipe", f"--user-data-dir={profile}", url]
        self._process = subprocess.Popen(
            args,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=pipes_as_3_and_4,
            pass_fds=(3, 4),  # kept open after preexec_fn, which runs first
        )
        os.close(to_browser)
        os.close(from_browser)
        self._reader = os.fdopen(self._answers, "rb")
        self._next_id = 0
        [target] = [
            t for t in self._call("Target.getTargets")["targetInfos"] if t["type"] == "page"
        ]
        attached = self._call("Target.attachToTarget", targetId=target["targetId"], flatten=True)
        self._session: str = attached["sessionId"]

    def _call(self, method: str, session: str | None = None, **params: Any) -> Any:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        while True:
            answer = json.loads(b"".join(iter(lambda: self._reader.read(1), b"\0")))
            if answer.get("id") == self._next_id:
                assert "error" not in answer, answer
                return answer["result"]

    def text(self, selector: str) -> str:
        """Return the text of the first element matching ``selector`` ("" when none)."""
        expression = f"document.querySelector({json.dumps(selector)})?.textContent ?? ''"
        result = self._call(
            "Runtime.evaluate", self._session, expression=expression, returnByValue=True
        )
        return str(result["result"]["value"])

    def wait_for(self, selector: str, text: str, timeout: float = 20) -> None:
        """Wait until the element's text contains ``text``, without reloading the page."""
        deadline = time.monotonic() + timeout
        while text not in self.text(selector):
            assert time.monotonic() < deadline, f"{selector}: {self.text(selector)!r}"
            time.sleep(0.1)

    def close(self) -> None:
        """Stop the browser."""
        self._process.kill()
        self._process.wait()
        self._reader.close()
        os.close(self._commands)


def test_timeline_updates_while_the_execution_runs(
    live: Any, run_cli: RunCli, tmp_path: Path
) -> None:
    """An open page shows a waiting execution, then its signal and end, without a reload."""
    execution_id = json.loads(run_cli("start", "approve", '"ui-live"', "--json").stdout)["id"]
    workflow, _, name = execution_id.partition("/")
    page = _Page(tmp_path / "profile", f"{live.url}/_eventual/ui/#/executions/{workflow}/{name}")
    try:
        page.wait_for("#summary", "RUNNING")
        page.wait_for("#timeline tbody", "timer")  # the signal's timeout
        assert run_cli("signal", execution_id, "approval", "true").exit_code == 0
        page.wait_for("#summary", "SUCCEEDED")
        page.wait_for("#summary", "ui-live approved")
        page.wait_for("#timeline tbody", "signal received")
    finally:
        page.close()


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
