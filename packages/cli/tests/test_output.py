"""Output: JSON for scripts, rich for people, a spinner only when someone watches."""

from __future__ import annotations

import json

import pytest

from eventual_cli._commands._output import Output


def test_json_documents_and_lines(capsys: pytest.CaptureFixture[str]) -> None:
    """json() prints an indented document, or one compact line per value with lines=True."""
    out = Output(as_json=True)
    out.json({"a": [1]})
    out.json({"b": "é"}, lines=True)
    printed = capsys.readouterr().out
    first, _, second = printed.rpartition('{"b"')
    assert json.loads(first) == {"a": [1]}
    assert first.count("\n") > 1  # indented
    assert second == ':"é"}\n'


def test_progress_is_silent_without_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    """With no terminal on either stream the spinner prints nothing."""
    out = Output(as_json=False)
    with out.progress("waiting") as progress:
        progress.update("still waiting")
    assert capsys.readouterr() == ("", "")


def test_progress_spins_on_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    """On a terminal the spinner shows the status text; with --json it never does."""
    out = Output(as_json=False)
    out.console = type(out.console)(force_terminal=True, width=80)
    with out.progress("waiting for w/1") as progress:
        progress.update("w/1: RUNNING, 3 events so far")
    assert "w/1: RUNNING, 3 events so far" in capsys.readouterr().out
    quiet = Output(as_json=True)
    quiet.console = type(quiet.console)(force_terminal=True, width=80)
    with quiet.progress("waiting"):
        pass
    assert capsys.readouterr().out == ""
