"""Where the embedded SQLite state lives and how durable its commits are.

The engine's SQLite backend, the local event bus and the ``eventual`` command read
these two settings from the same configuration, so they agree on the file (by
default one file holds both) and refuse a bad value with the same message.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

from ._errors import EventualError
from ._sqlite import Synchronous

if TYPE_CHECKING:
    from ._config import EventualConfig

__all__ = ["DEFAULT_DB", "database_path", "synchronous_level", "synchronous_setting"]

DEFAULT_DB: Final = Path(".eventual") / "local.db"
"""The SQLite file when the configuration names none, relative to the project folder."""


def database_path(config: EventualConfig) -> Path:
    """Return the SQLite file the configuration names (``db``), or :data:`DEFAULT_DB`.

    A relative path is taken from the folder of the ``pyproject.toml`` the
    configuration was read from; without one it stays relative to the working
    directory.
    """
    path = Path(config.db) if config.db else DEFAULT_DB
    if config.config_file is not None and not path.is_absolute():
        path = config.config_file.parent / path
    return path


def synchronous_level(value: object) -> Synchronous:
    """Return the ``synchronous`` level ``value`` names, ``NORMAL`` or ``FULL`` in any case.

    Raises:
        ValueError: ``value`` is another level.
    """
    level = str(value).upper()
    if level == "FULL":
        return "FULL"
    if level == "NORMAL":
        return "NORMAL"
    raise ValueError(f"synchronous must be 'NORMAL' or 'FULL', got {level!r}")


def synchronous_setting(config: EventualConfig) -> Synchronous:
    """Return the configuration's ``sqlite_synchronous`` option (``NORMAL`` by default).

    Raises:
        EventualError: The option names another level; the message says where to set it.
    """
    value = config.options.get("sqlite_synchronous", "NORMAL")
    try:
        return synchronous_level(value)
    except ValueError:
        level = str(value).upper()
        raise EventualError(
            f"sqlite_synchronous must be NORMAL or FULL, got {level!r} "
            "(set it in [tool.eventual] or pass it in the configuration options)"
        ) from None
