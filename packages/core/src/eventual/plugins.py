"""The plugin host: markers, the plugin manager factory, what plugins contribute, configuration.

Hook specifications are documented in :mod:`eventual.hookspecs`.
"""

from ._config import EventualConfig as EventualConfig
from ._config import load_config as load_config
from ._plugins import AUTOLOAD_ENV_VAR as AUTOLOAD_ENV_VAR
from ._plugins import ENTRY_POINT_GROUP as ENTRY_POINT_GROUP
from ._plugins import BackendProvider as BackendProvider
from ._plugins import DeployTarget as DeployTarget
from ._plugins import EventBusProvider as EventBusProvider
from ._plugins import PluginInfo as PluginInfo
from ._plugins import Plugins as Plugins
from ._plugins import get_plugin_manager as get_plugin_manager
from ._plugins import hookimpl as hookimpl
from ._plugins import hookspec as hookspec

__all__ = [
    "AUTOLOAD_ENV_VAR",
    "BackendProvider",
    "DeployTarget",
    "ENTRY_POINT_GROUP",
    "EventBusProvider",
    "EventualConfig",
    "PluginInfo",
    "Plugins",
    "get_plugin_manager",
    "hookimpl",
    "hookspec",
    "load_config",
]
