"""``TemporaryServer``: a throwaway PostgreSQL server that leaves nothing behind."""

from __future__ import annotations

import psycopg

from eventual_postgres import TemporaryServer


def test_a_temporary_server_accepts_connections_and_is_gone_after_stop() -> None:
    """The server answers on its DSN; stopping removes its folder; stopping twice is harmless."""
    server = TemporaryServer().start()
    folder = server.folder
    try:
        with psycopg.connect(server.dsn()) as conn:
            row = conn.execute("SELECT current_user, current_setting('fsync')").fetchone()
            assert row == ("postgres", "off")
    finally:
        server.stop()
    assert folder is not None
    assert not folder.exists()
    server.stop()
