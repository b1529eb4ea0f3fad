"""Running moto's server in-process, made safe for concurrent DynamoDB requests.

moto's ``TransactWriteItems`` snapshots every table it touches before applying a
transaction and, when a condition fails, puts the snapshot back: any other write
that landed in between is silently undone, and a write landing *while* the
snapshot is copied can break the copy ("dictionary changed size during
iteration"). DynamoDB never does either, and the engine writes concurrently
(several executions at once), so on an unguarded moto server a conflict in one
execution can erase another's step. :func:`guard_transactions` makes moto's
DynamoDB operations take one lock in this process, so each is isolated from the
others, which is what DynamoDB promises anyway. It changes nothing but moto,
and only when moto's server runs in this process (the simulator's default, and
the tests'); a moto server in another process, or LocalStack, is not affected.
"""

from __future__ import annotations

import functools
import socket
import threading
from typing import Any

__all__ = ["guard_transactions", "start_server"]

# Re-entrant: a transaction calls other guarded operations of the same backend.
_GUARD = threading.RLock()
_GUARDED_OPERATIONS = (
    "put_item",
    "get_item",
    "update_item",
    "delete_item",
    "query",
    "scan",
    "batch_get_item",
    "batch_write_item",
    "transact_get_items",
    "transact_write_items",
    "execute_statement",
    "execute_transaction",
    "batch_execute_statement",
)
_GUARDED_FLAG = "_eventual_serialised"


def guard_transactions() -> None:
    """Make moto's DynamoDB operations isolated from each other (idempotent)."""
    from moto.dynamodb.models import DynamoDBBackend

    for name in _GUARDED_OPERATIONS:
        original = getattr(DynamoDBBackend, name, None)
        if original is None or getattr(original, _GUARDED_FLAG, False):
            continue
        setattr(DynamoDBBackend, name, _serialised(original))


def _serialised(original: Any) -> Any:
    @functools.wraps(original)
    def serialised(self: object, *args: Any, **kwargs: Any) -> Any:
        with _GUARD:
            return original(self, *args, **kwargs)

    setattr(serialised, _GUARDED_FLAG, True)
    return serialised


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(host: str = "127.0.0.1", port: int | None = None) -> tuple[Any, str]:
    """Start moto's server in a thread, transactions guarded; return it and its URL.

    Raises:
        ImportError: moto is not installed (``pip install 'eventual-aws[simulator]'``).
    """
    from moto.server import ThreadedMotoServer

    guard_transactions()
    port = port or _free_port(host)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    return server, f"http://{host}:{port}"
