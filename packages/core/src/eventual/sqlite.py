"""The SQLite connection thread with group commit that embedded backends share.

User code never needs this module; the engine's SQLite backend and the local
event bus build on it. It is imported only by them, so importing ``eventual``
does not load ``sqlite3``.
"""

from ._sqlite import MAX_BATCH as MAX_BATCH
from ._sqlite import Database as Database
from ._sqlite import DatabaseClosed as DatabaseClosed
from ._sqlite import Prepare as Prepare
from ._sqlite import Synchronous as Synchronous

__all__ = ["MAX_BATCH", "Database", "DatabaseClosed", "Prepare", "Synchronous"]
