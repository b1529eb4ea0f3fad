"""Tests for loading configuration from plugins, pyproject.toml, the environment and flags."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventual._config import EventualConfig, find_pyproject, load_config
from eventual._errors import EventualError
from eventual._plugins import Plugins, get_plugin_manager, hookimpl


def _project(directory: Path, table: str | None) -> Path:
    """Write a pyproject.toml in ``directory``, with ``table`` as [tool.eventual] if given."""
    directory.mkdir(parents=True, exist_ok=True)
    text = '[project]\nname = "svc"\n'
    if table is not None:
        text += "\n[tool.eventual]\n" + table
    pyproject = directory / "pyproject.toml"
    pyproject.write_text(text)
    return pyproject


class _CloudDefaults:
    """A plugin proposing its own backend and an extra option."""

    @hookimpl
    def eventual_config_defaults(self) -> Mapping[str, object]:
        return {"backend": "cloud", "db": "cloud://default", "region": "eu-west-1"}


def test_defaults_when_the_project_sets_nothing(tmp_path: Path) -> None:
    """A project without [tool.eventual] runs on the embedded SQLite backend."""
    pyproject = _project(tmp_path, None)
    assert load_config(tmp_path, env={}) == EventualConfig(
        backend="sqlite", config_file=pyproject.resolve()
    )


def test_pyproject_is_found_by_walking_up(tmp_path: Path) -> None:
    """Settings are read from the pyproject.toml of an enclosing directory."""
    pyproject = _project(tmp_path, 'service = "orders"\nbackend = "memory"\ndb = "x.db"\n')
    nested = tmp_path / "src" / "orders"
    nested.mkdir(parents=True)
    config = load_config(nested, env={})
    assert (config.service, config.backend, config.db) == ("orders", "memory", "x.db")
    assert config.config_file == pyproject.resolve()


def test_nearest_pyproject_wins_even_without_a_table(tmp_path: Path) -> None:
    """An inner project without [tool.eventual] does not inherit its parent's settings."""
    _project(tmp_path, 'backend = "outer"\n')
    inner = _project(tmp_path / "inner", None)
    config = load_config(tmp_path / "inner", env={})
    assert config.backend == "sqlite"
    assert config.config_file == inner.resolve()
    assert find_pyproject(tmp_path / "inner") == inner.resolve()


def test_current_directory_is_the_default_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without project_dir, the search starts in the current directory."""
    _project(tmp_path, 'service = "from-cwd"\n')
    monkeypatch.chdir(tmp_path)
    assert load_config(env={}).service == "from-cwd"


def test_environment_overrides_pyproject(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """EVENTUAL_* variables beat pyproject.toml, and empty ones count as unset."""
    _project(tmp_path, 'service = "file"\nbackend = "file"\nevent_bus = "file"\ndb = "file"\n')
    monkeypatch.setenv("EVENTUAL_BACKEND", "env-backend")
    monkeypatch.setenv("EVENTUAL_EVENT_BUS", "env-bus")
    monkeypatch.setenv("EVENTUAL_DB", "env.db")
    monkeypatch.setenv("EVENTUAL_SERVICE", "")
    config = load_config(tmp_path)
    assert (config.service, config.backend, config.event_bus, config.db) == (
        "file",
        "env-backend",
        "env-bus",
        "env.db",
    )


def test_overrides_beat_environment_and_none_means_not_given(tmp_path: Path) -> None:
    """CLI overrides win over the environment, and flags left at None change nothing."""
    _project(tmp_path, 'db = "file.db"\n')
    config = load_config(
        tmp_path,
        env={"EVENTUAL_BACKEND": "env", "EVENTUAL_SERVICE": "env-svc"},
        overrides={"backend": "flag", "service": None, "verbose": True},
    )
    assert (config.backend, config.service, config.db) == ("flag", "env-svc", "file.db")
    assert config.options == {"verbose": True}


def test_unknown_keys_become_options(tmp_path: Path) -> None:
    """Keys that are not settings land in options, kebab-case normalised, tables merged."""
    _project(
        tmp_path,
        'event-bus = "local"\nlambda-memory = 512\n'
        '\n[tool.eventual.options]\nregion = "us-east-1"\n',
    )
    config = load_config(tmp_path, env={})
    assert config.event_bus == "local"
    assert config.options == {"lambda_memory": 512, "region": "us-east-1"}


def test_plugin_defaults_are_the_lowest_layer(tmp_path: Path) -> None:
    """Plugin defaults beat core's built-in default but lose to the project's own settings."""
    _project(tmp_path, 'db = "mine.db"\n')
    plugins = Plugins(get_plugin_manager(autoload=False, plugins=[_CloudDefaults()]))
    config = load_config(tmp_path, env={}, plugins=plugins)
    assert (config.backend, config.db) == ("cloud", "mine.db")
    assert config.options == {"region": "eu-west-1"}
    builtin_only = Plugins(get_plugin_manager(autoload=False))
    assert load_config(tmp_path, env={}, plugins=builtin_only).backend == "sqlite"


def test_bad_plugin_default_names_the_hook(tmp_path: Path) -> None:
    """A plugin default of the wrong type is reported as coming from eventual_config_defaults."""

    class Wrong:
        @hookimpl
        def eventual_config_defaults(self) -> Mapping[str, object]:
            return {"backend": ["a", "b"]}

    _project(tmp_path, None)
    plugins = Plugins(get_plugin_manager(autoload=False, plugins=[Wrong()]))
    with pytest.raises(EventualError, match="'backend' in the plugins' eventual_config_defaults"):
        load_config(tmp_path, env={}, plugins=plugins)


def test_bad_type_error_names_key_and_file(tmp_path: Path) -> None:
    """A setting of the wrong type is refused with its key, its file and the value found."""
    pyproject = _project(tmp_path, "backend = 3\n")
    with pytest.raises(EventualError) as raised:
        load_config(tmp_path, env={})
    message = str(raised.value)
    assert "'backend'" in message
    assert str(pyproject.resolve()) in message
    assert "must be a non-empty string, got int: 3" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("[tool.eventual\n", "is not valid TOML", id="invalid-toml"),
        pytest.param("[tool]\neventual = 1\n", "must be a table", id="not-a-table"),
        pytest.param(
            '[tool.eventual]\nevent-bus = "a"\nevent_bus = "b"\n',
            "sets both 'event-bus' and 'event_bus'",
            id="two-spellings",
        ),
        pytest.param("[tool.eventual]\noptions = 1\n", "must be a table of settings", id="options"),
    ],
)
def test_malformed_pyproject_is_a_clear_error(tmp_path: Path, text: str, expected: str) -> None:
    """A pyproject.toml eventual cannot read is reported with the file and the problem."""
    (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(EventualError, match=expected) as raised:
        load_config(tmp_path, env={})
    assert "pyproject.toml" in str(raised.value)


def test_bad_override_type_is_a_clear_error(tmp_path: Path) -> None:
    """An override of the wrong type names the key and says it came from the overrides."""
    _project(tmp_path, None)
    with pytest.raises(EventualError, match="'db' in the overrides must be a non-empty string"):
        load_config(tmp_path, env={}, overrides={"db": 5})


def test_missing_project_dir_is_a_clear_error(tmp_path: Path) -> None:
    """A project directory that does not exist is refused rather than searched above."""
    with pytest.raises(EventualError, match="does not exist"):
        load_config(tmp_path / "typo", env={})


def test_config_is_a_frozen_snapshot() -> None:
    """Changing the mapping passed as options afterwards does not change the config."""
    options: dict[str, object] = {"region": "eu-west-1"}
    config = EventualConfig(options=options)
    options["region"] = "us-east-1"
    assert config.options == {"region": "eu-west-1"}
    assert hash(config) == hash(EventualConfig(options={"region": "other"}))


_VALUE = st.none() | st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.", min_size=1)
_ENV_VARS = {"backend": "EVENTUAL_BACKEND", "db": "EVENTUAL_DB"}


@given(
    plugin=st.fixed_dictionaries({"backend": _VALUE, "db": _VALUE}),
    file=st.fixed_dictionaries({"backend": _VALUE, "db": _VALUE}),
    env=st.fixed_dictionaries({"backend": _VALUE, "db": _VALUE}),
    flags=st.fixed_dictionaries({"backend": _VALUE, "db": _VALUE}),
)
def test_each_setting_comes_from_the_highest_layer_that_sets_it(
    plugin: dict[str, str | None],
    file: dict[str, str | None],
    env: dict[str, str | None],
    flags: dict[str, str | None],
) -> None:
    """Plugin defaults < pyproject.toml < environment < overrides, setting by setting."""

    class Defaults:
        @hookimpl
        def eventual_config_defaults(self) -> Mapping[str, object]:
            return {key: value for key, value in plugin.items() if value is not None}

    plugins = Plugins(get_plugin_manager(autoload=False, plugins=[Defaults()]))
    table = "".join(f"{k} = {json.dumps(v)}\n" for k, v in file.items() if v is not None)
    with tempfile.TemporaryDirectory() as directory:
        _project(Path(directory), table)
        config = load_config(
            Path(directory),
            env={_ENV_VARS[k]: v for k, v in env.items() if v is not None},
            overrides=flags,
            plugins=plugins,
        )
    for key, default in (("backend", "sqlite"), ("db", None)):
        layers = (flags[key], env[key], file[key], plugin[key])
        expected = next((value for value in layers if value is not None), default)
        assert getattr(config, key) == expected
