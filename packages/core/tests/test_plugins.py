"""Tests for the plugin host: the hookspecs, ``get_plugin_manager`` and ``Plugins``."""

from __future__ import annotations

import inspect
import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import cast

import attrs
import pluggy
import pytest

from eventual import _builtin_plugin, hookspecs
from eventual._codec import Codec, JsonValue
from eventual._config import EventualConfig
from eventual._errors import EventualError
from eventual._plugins import (
    AUTOLOAD_ENV_VAR,
    ENTRY_POINT_GROUP,
    BackendProvider,
    DeployTarget,
    EventBusProvider,
    Plugins,
    get_plugin_manager,
    hookimpl,
)
from eventual.spi import Backend, EventBus

HOOK_NAMES = sorted(name for name in vars(hookspecs) if name.startswith("eventual_"))
REPO_ROOT = Path(__file__).resolve().parents[3]
CORE_DIR = REPO_ROOT / "packages" / "core"

# The third-party plugin used by the entry-point tests: a module that knows only
# the public hook contract, found through the `eventual` entry-point group.
ACME_PLUGIN_SOURCE = '''\
"""A backend plugin from another distribution."""

from eventual.plugins import BackendProvider, hookimpl


class AcmeBackend:
    def __init__(self, config):
        self.config = config


@hookimpl
def eventual_backend_providers():
    return [
        BackendProvider(name="acme", description="Acme's cloud backend", create=AcmeBackend)
    ]
'''


def _write_distribution(
    site: Path, *, project: str, module: str, source: str, version: str = "1.0"
) -> None:
    """Lay out an installed distribution the way an installer does (module + dist-info)."""
    (site / f"{module}.py").write_text(source)
    dist_info = site / f"{project.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project}\nVersion: {version}\n"
    )
    (dist_info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{module} = {module}\n")


@pytest.fixture
def acme_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory on sys.path holding the installed acme plugin distribution."""
    site = tmp_path / "site-packages"
    site.mkdir()
    _write_distribution(
        site,
        project="acme-eventual-plugin",
        module="acme_eventual_plugin",
        source=ACME_PLUGIN_SOURCE,
    )
    monkeypatch.delenv(AUTOLOAD_ENV_VAR, raising=False)
    # syspath_prepend also invalidates importlib's caches, so importlib.metadata
    # sees the new dist-info; delitem makes the import fresh and undoes it afterwards.
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "acme_eventual_plugin", raising=False)
    return site


@attrs.frozen
class Money:
    cents: int


def _decode_money(data: JsonValue) -> Money:
    assert isinstance(data, str)
    return Money(cents=int(data.removesuffix("c")))


def _made(marker: object) -> Backend:
    # The host never uses what a provider creates, it hands it back: a marker shows
    # that the named provider's factory ran, with which configuration.
    return cast(Backend, marker)


def _provider(name: str, description: str = "") -> BackendProvider:
    return BackendProvider(
        name=name, description=description or name, create=lambda config: _made(name)
    )


class _AlphaBeta:
    """Provides two backends and nothing else."""

    @hookimpl
    def eventual_backend_providers(self) -> Sequence[BackendProvider]:
        return [_provider("beta"), _provider("alpha")]


class _Everything:
    """Contributes to every hook that returns providers or commands."""

    @hookimpl
    def eventual_event_bus_providers(self) -> Sequence[EventBusProvider]:
        return [
            EventBusProvider(
                name="pigeon",
                description="Carrier pigeons",
                create=lambda config: cast(EventBus, ("pigeon", config.backend)),
            )
        ]

    @hookimpl
    def eventual_deploy_targets(self) -> Sequence[DeployTarget]:
        return [
            DeployTarget(
                name="tarball",
                description="A tar file",
                synthesize=lambda service, settings: ("tar", service, dict(settings)),
            )
        ]

    @hookimpl
    def eventual_cli_commands(self) -> Sequence[object]:
        return ["command-one", "command-two"]


# --- the hook contract -------------------------------------------------------------


def test_hookspecs_module_lists_exactly_its_hooks() -> None:
    """The hookspecs module's __all__ names every hook it defines, and nothing else."""
    assert sorted(hookspecs.__all__) == HOOK_NAMES
    assert len(HOOK_NAMES) == 6


@pytest.mark.parametrize("name", HOOK_NAMES)
def test_hookspec_is_marked_typed_and_documented(name: str) -> None:
    """Every hookspec is marked, annotated, and documents its arguments and result."""
    function = getattr(hookspecs, name)
    assert pluggy.PluginManager("eventual").parse_hookspec_opts(hookspecs, name) is not None
    signature = inspect.signature(function)
    doc = inspect.getdoc(function)
    assert doc, f"{name} has no docstring"
    assert signature.return_annotation is not inspect.Signature.empty
    for parameter in signature.parameters.values():
        assert parameter.annotation is not inspect.Parameter.empty
        assert f"{parameter.name}:" in doc, f"{name} does not document {parameter.name}"
    if signature.return_annotation != "None":
        assert "Returns:" in doc, f"{name} does not say what it returns"


@pytest.mark.parametrize("name", HOOK_NAMES)
def test_every_hook_is_implemented_by_some_test(name: str) -> None:
    """Each hook has an implementation in some package's tests, so each one is exercised."""
    # The pattern is assembled here, so this test's own text never satisfies it.
    implementation = "def " + name + "("
    sources = (path.read_text() for path in REPO_ROOT.glob("packages/*/tests/**/*.py"))
    assert any(implementation in source for source in sources), f"no test implements {name}"


# --- get_plugin_manager -------------------------------------------------------------


def test_manager_registers_the_builtin_plugin() -> None:
    """The built-in plugin is registered through the hooks and contributes the default backend."""
    manager = get_plugin_manager(autoload=False)
    assert manager.get_plugin("eventual.builtin") is _builtin_plugin
    plugins = Plugins(manager)
    assert plugins.config_defaults() == {"backend": "sqlite"}
    (info,) = plugins.installed()
    assert (info.name, info.distribution, info.version) == ("eventual.builtin", None, None)
    assert info.hooks == ("eventual_config_defaults",)


def test_manager_is_fresh_on_each_call() -> None:
    """Registering a plugin on one manager leaves the next manager untouched."""
    first = get_plugin_manager(autoload=False)
    first.register(_AlphaBeta())
    second = get_plugin_manager(autoload=False)
    assert first is not second
    assert set(Plugins(first).backends()) == {"alpha", "beta"}
    assert Plugins(second).backends() == {}


def test_extra_plugins_are_registered_after_builtins_and_win() -> None:
    """A plugin passed to get_plugin_manager overrides a built-in default it also sets."""

    class Cloudy:
        @hookimpl
        def eventual_config_defaults(self) -> Mapping[str, object]:
            return {"backend": "cloud", "region": "eu-west-1"}

    class Quiet:
        @hookimpl
        def eventual_config_defaults(self) -> Mapping[str, object] | None:
            return None

    plugins = Plugins(get_plugin_manager(autoload=False, plugins=[Cloudy(), Quiet()]))
    assert plugins.config_defaults() == {"backend": "cloud", "region": "eu-west-1"}


def test_misspelled_hook_is_a_clear_error() -> None:
    """A plugin implementing a hook that does not exist is refused, naming the hook."""

    class Typo:
        @hookimpl
        def eventual_backend_provider(self) -> Sequence[BackendProvider]:
            return []

    with pytest.raises(EventualError, match="eventual_backend_provider"):
        get_plugin_manager(autoload=False, plugins=[Typo()])


def test_entry_point_plugin_is_found_without_code_changes(acme_site: Path) -> None:
    """An installed distribution's `eventual` entry point adds a backend that can be created."""
    manager = get_plugin_manager()
    plugins = Plugins(manager)
    config = EventualConfig(backend="acme")
    backend = plugins.backend(config.backend).create(config)
    assert type(backend).__name__ == "AcmeBackend"
    assert getattr(backend, "config", None) is config
    info = next(info for info in plugins.installed() if info.name == "acme_eventual_plugin")
    assert (info.distribution, info.version) == ("acme-eventual-plugin", "1.0")
    assert info.hooks == ("eventual_backend_providers",)


def test_disable_env_var_skips_entry_points_but_keeps_builtins(
    acme_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With EVENTUAL_DISABLE_PLUGIN_AUTOLOAD set, installed plugins are not loaded."""
    monkeypatch.setenv(AUTOLOAD_ENV_VAR, "1")
    manager = get_plugin_manager()
    assert manager.get_plugin("acme_eventual_plugin") is None
    assert "acme_eventual_plugin" not in sys.modules
    assert manager.get_plugin("eventual.builtin") is _builtin_plugin
    with pytest.raises(EventualError, match="No installed plugin provides a backend named 'acme'"):
        Plugins(manager).backend("acme")


def test_empty_disable_env_var_and_explicit_autoload_load_entry_points(
    acme_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An empty env var does not disable loading, and autoload=True wins over a set one."""
    monkeypatch.setenv(AUTOLOAD_ENV_VAR, "")
    assert "acme" in Plugins(get_plugin_manager()).backends()
    monkeypatch.setenv(AUTOLOAD_ENV_VAR, "1")
    assert "acme" in Plugins(get_plugin_manager(autoload=True)).backends()


def test_broken_entry_point_plugin_is_a_clear_error(
    acme_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plugin that fails to import is reported with the way to start without plugins."""
    _write_distribution(
        acme_site,
        project="broken-eventual-plugin",
        module="broken_eventual_plugin",
        source="raise ImportError('needs a missing dependency')\n",
    )
    monkeypatch.delitem(sys.modules, "broken_eventual_plugin", raising=False)
    with pytest.raises(EventualError, match="needs a missing dependency") as raised:
        get_plugin_manager()
    assert AUTOLOAD_ENV_VAR in str(raised.value)


@pytest.mark.skipif(shutil.which("uv") is None, reason="uv is not on PATH")
def test_plugin_wheel_installed_in_a_fresh_venv_is_found(tmp_path: Path) -> None:
    """A real wheel declaring the entry point, installed next to core, provides its backend."""
    uv = cast(str, shutil.which("uv"))
    project = tmp_path / "acme-eventual-plugin"
    (project / "acme_eventual_plugin").mkdir(parents=True)
    (project / "acme_eventual_plugin" / "__init__.py").write_text(ACME_PLUGIN_SOURCE)
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [build-system]
            requires = ["hatchling"]
            build-backend = "hatchling.build"

            [project]
            name = "acme-eventual-plugin"
            version = "1.0"
            dependencies = ["eventual-core"]

            [project.entry-points.eventual]
            acme = "acme_eventual_plugin"
            """
        )
    )
    # The subprocesses must see neither this test run's import path nor a switch
    # that turns autoloading off.
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", AUTOLOAD_ENV_VAR}}

    def run(*args: str) -> str:
        completed = subprocess.run(
            args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False
        )
        assert completed.returncode == 0, f"{args} failed:\n{completed.stderr}"
        return completed.stdout

    run(uv, "build", "--wheel", "--out-dir", str(tmp_path / "dist"), str(project))
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        entry_points = archive.read("acme_eventual_plugin-1.0.dist-info/entry_points.txt")
    assert "[eventual]" in entry_points.decode()

    venv = tmp_path / "venv"
    run(uv, "venv", "--python", sys.executable, str(venv))
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    run(uv, "pip", "install", "--python", str(python), str(CORE_DIR), str(wheel))
    snippet = textwrap.dedent(
        """\
        import json
        import eventual._plugins as host
        plugins = host.Plugins(host.get_plugin_manager())
        provider = plugins.backend("acme")
        info = [i for i in plugins.installed() if i.name == "acme"]
        print(json.dumps({
            "host": host.__file__,
            "description": provider.description,
            "distribution": info[0].distribution,
        }))
        """
    )
    # -I: the venv's own site-packages only, not the current directory or user site.
    result = json.loads(run(str(python), "-I", "-c", snippet))
    assert Path(result["host"]).is_relative_to(venv)
    assert result["description"] == "Acme's cloud backend"
    assert result["distribution"] == "acme-eventual-plugin"


# --- Plugins ------------------------------------------------------------------------


def test_unknown_backend_error_lists_available_names() -> None:
    """Asking for a backend nobody provides names it and lists the ones that exist."""
    plugins = Plugins(get_plugin_manager(autoload=False, plugins=[_AlphaBeta()]))
    with pytest.raises(EventualError) as raised:
        plugins.backend("postgres")
    message = str(raised.value)
    assert "'postgres'" in message
    assert "available: 'alpha', 'beta'" in message
    assert "EVENTUAL_BACKEND" in message


def test_backend_lookup_returns_the_named_provider() -> None:
    """A known backend name returns that provider, whose factory builds the backend."""
    plugins = Plugins(get_plugin_manager(autoload=False, plugins=[_AlphaBeta()]))
    created: object = plugins.backend("alpha").create(EventualConfig())
    assert created == "alpha"


def test_duplicate_backend_names_are_an_error() -> None:
    """Two plugins providing the same backend name is refused rather than one silently winning."""

    class Clone:
        @hookimpl
        def eventual_backend_providers(self) -> Sequence[BackendProvider]:
            return [_provider("alpha", "another alpha")]

    plugins = Plugins(get_plugin_manager(autoload=False, plugins=[_AlphaBeta(), Clone()]))
    with pytest.raises(EventualError, match="Two plugins provide a backend named 'alpha'"):
        plugins.backends()


@pytest.mark.parametrize(
    "result",
    [pytest.param(_provider("solo"), id="single-provider"), pytest.param(["solo"], id="strings")],
)
def test_malformed_provider_results_are_a_clear_error(result: object) -> None:
    """A plugin returning something other than a list of providers gets an error naming the hook."""

    class Sloppy:
        @hookimpl
        def eventual_backend_providers(self) -> object:
            return result

    plugins = Plugins(get_plugin_manager(autoload=False, plugins=[Sloppy()]))
    with pytest.raises(EventualError, match="eventual_backend_providers must return"):
        plugins.backends()


def test_event_buses_deploy_targets_and_cli_commands_are_collected() -> None:
    """Event buses, deploy targets and CLI commands from a plugin are all reachable."""
    plugins = Plugins(get_plugin_manager(autoload=False, plugins=[_Everything(), _AlphaBeta()]))
    bus: object = plugins.event_bus("pigeon").create(EventualConfig(backend="x"))
    assert bus == ("pigeon", "x")
    assert plugins.deploy_target("tarball").synthesize("svc", {"a": 1}) == ("tar", "svc", {"a": 1})
    assert plugins.cli_commands() == ["command-one", "command-two"]
    with pytest.raises(EventualError, match="available: 'pigeon'"):
        plugins.event_bus("carrier")
    with pytest.raises(EventualError, match="available: 'tarball'"):
        plugins.deploy_target("helm")


def test_configure_codec_lets_plugins_register_types() -> None:
    """A type a plugin registers on the codec round-trips through it."""

    class Registers:
        @hookimpl
        def eventual_configure_codec(self, codec: Codec) -> None:
            codec.register(Money, encode=lambda m: f"{m.cents}c", decode=_decode_money)

    codec = Codec()
    Plugins(get_plugin_manager(autoload=False, plugins=[Registers()])).configure_codec(codec)
    assert codec.encode(Money(cents=250), Money) == "250c"
    assert codec.decode("250c", Money) == Money(cents=250)


def test_hook_implementation_may_omit_arguments() -> None:
    """An implementation taking none of its hook's arguments still runs (hooks only gain them)."""
    calls: list[str] = []

    class Older:
        @hookimpl
        def eventual_configure_codec(self) -> None:
            calls.append("called")

    Plugins(get_plugin_manager(autoload=False, plugins=[Older()])).configure_codec(Codec())
    assert calls == ["called"]
