"""The SQLite connection thread with group commit that embedded backends share.

User code never needs this module; the engine's SQLite backend, the local event
bus and the ``eventual`` command build on it. It is imported only by them, so
importing ``eventual`` does not load ``sqlite3``. Besides the connection thread it
holds the two settings they share: where the file is (``database_path``) and how
durable a commit is (``synchronous_setting``).
"""

from ._sqlite import MAX_BATCH as MAX_BATCH
from ._sqlite import Database as Database
from ._sqlite import DatabaseClosed as DatabaseClosed
from ._sqlite import Prepare as Prepare
from ._sqlite import Synchronous as Synchronous
from ._sqlite_config import DEFAULT_DB as DEFAULT_DB
from ._sqlite_config import database_path as database_path
from ._sqlite_config import synchronous_level as synchronous_level
from ._sqlite_config import synchronous_setting as synchronous_setting

__all__ = [
    "DEFAULT_DB",
    "MAX_BATCH",
    "Database",
    "DatabaseClosed",
    "Prepare",
    "Synchronous",
    "database_path",
    "synchronous_level",
    "synchronous_setting",
]
