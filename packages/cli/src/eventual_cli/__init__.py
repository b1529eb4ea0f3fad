"""The ``eventual`` command: ``eventual local``, operating commands, replay, the timeline UI."""

from ._local import CannotListen as CannotListen
from ._local import LocalSettings as LocalSettings
from ._local import serve_local as serve_local
from ._main import cli as cli
from ._main import main as main
from ._ui import UiApp as UiApp

__all__ = ["CannotListen", "LocalSettings", "UiApp", "cli", "main", "serve_local"]
