"""The ``eventual`` command line: ``eventual local`` and the commands plugins add."""

from ._local import LocalSettings as LocalSettings
from ._local import serve_local as serve_local
from ._main import cli as cli
from ._main import main as main

__all__ = ["LocalSettings", "cli", "main", "serve_local"]
