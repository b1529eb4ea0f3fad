"""``PostgresBus``: the event bus of services whose processes share a PostgreSQL database."""

from __future__ import annotations

from eventual_messaging import BusOptions, LocalBus

from .._backend import DEFAULT_SCHEMA
from ._store import PostgresBusStore

__all__ = ["PostgresBus"]


class PostgresBus(LocalBus):
    """A durable event bus in one schema of a PostgreSQL database (an ``EventBus``).

    eventual-messaging's ``LocalBus`` over :class:`PostgresBusStore`: publishing
    fans each new event out to the matching subscriptions of every attached
    service in one transaction; each service's processes, on any machine, claim
    its deliveries with leases, run the handlers, retry by the subscription's
    policy and keep dead letters. Several services attached to one database and
    schema receive each other's events.

    Args:
        dsn: A libpq connection string or URL.
        schema: The schema holding the ``bus_*`` tables (the backend's by default).
        pool_size: Most connections open at once.
        options: Leases, batch size, deduplication window and handler timeout.
    """

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = DEFAULT_SCHEMA,
        pool_size: int = 10,
        options: BusOptions | None = None,
    ) -> None:
        super().__init__(PostgresBusStore(dsn, schema=schema, pool_size=pool_size), options)
