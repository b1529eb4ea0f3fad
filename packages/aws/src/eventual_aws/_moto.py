"""Running moto's server in-process, made safe for concurrent DynamoDB transactions.

moto's ``TransactWriteItems`` snapshots every table it touches before applying a
transaction and, when a condition fails, puts the snapshot back: any other
transaction that committed in between is silently undone. DynamoDB never does
that, and the engine commits concurrently (several executions at once), so on
an unguarded moto server a conflict in one execution can erase another's step.
:func:`guard_transactions` serialises moto's transactions in this process, which
is what DynamoDB's isolation promises anyway. It changes nothing but moto, and
only when moto's server runs in this process (the simulator's default, and the
tests'); a moto server in another process, or LocalStack, is not affected.
"""

from __future__ import annotations

import functools
import socket
import threading
from typing import Any

__all__ = ["guard_transactions", "start_server"]

_GUARD = threading.Lock()
_GUARDED_FLAG = "_eventual_serialised"


def guard_transactions() -> None:
    """Make moto's ``TransactWriteItems`` atomic with respect to each other (idempotent)."""
    from moto.dynamodb.models import DynamoDBBackend

    original = DynamoDBBackend.transact_write_items
    if getattr(original, _GUARDED_FLAG, False):
        return

    @functools.wraps(original)
    def serialised(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
        with _GUARD:
            return original(self, *args, **kwargs)

    setattr(serialised, _GUARDED_FLAG, True)
    setattr(DynamoDBBackend, "transact_write_items", serialised)  # noqa: B010


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
