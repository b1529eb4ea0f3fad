"""JSON arguments: inline, standard input, files, and the errors for each."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from eventual_cli._commands._inputs import BadJson, file_json, json_argument


def test_inline_default_and_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inline JSON is parsed, a missing argument gives the default, `-` reads stdin."""
    assert json_argument('{"a": [1, 2]}', "INPUT") == {"a": [1, 2]}
    assert json_argument(None, "INPUT", default=7) == 7
    monkeypatch.setattr("sys.stdin", io.StringIO('"from stdin"\n'))
    assert json_argument("-", "INPUT") == "from stdin"


def test_bad_json_names_the_argument_and_how_to_quote() -> None:
    """A bare word is refused with a hint to quote it as a JSON string."""
    with pytest.raises(BadJson) as caught:
        json_argument("hello", "PAYLOAD")
    assert "PAYLOAD is not JSON" in caught.value.message
    assert "'\"hello\"'" in caught.value.message
    with pytest.raises(BadJson) as broken:
        json_argument("{", "INPUT")
    assert "quoted" not in broken.value.message


def test_files(tmp_path: Path) -> None:
    """A file is read as JSON; a missing or broken file names itself."""
    good = tmp_path / "good.json"
    good.write_text("[1]", encoding="utf-8")
    assert file_json(good, "--file") == [1]
    with pytest.raises(BadJson, match="cannot read"):
        file_json(tmp_path / "missing.json", "--file")
    bad = tmp_path / "bad.json"
    bad.write_text("nope", encoding="utf-8")
    with pytest.raises(BadJson, match=r"--file \(from .*bad\.json\) is not JSON"):
        file_json(bad, "--file")
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'"caf\xe9"')
    with pytest.raises(BadJson, match=r"latin\.json\) is not JSON: .*utf-8"):
        file_json(latin, "--file")


def test_bad_json_is_one_line_with_exit_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    """Bad JSON is reported as one `Error:` line, without the usage text, exit status 2."""
    with pytest.raises(BadJson) as caught:
        json_argument("pen", "INPUT")
    caught.value.show()
    assert caught.value.exit_code == 2
    assert capsys.readouterr().err.splitlines() == [
        "Error: INPUT is not JSON: Expecting value: line 1 column 1 (char 0); "
        "a string must be quoted as JSON, e.g. '\"pen\"'"
    ]
