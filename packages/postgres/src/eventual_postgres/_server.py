"""``TemporaryServer``: a throwaway PostgreSQL server for tests and benchmarks.

It runs the machine's own PostgreSQL binaries (Debian's ``postgresql`` package
puts them in ``/usr/lib/postgresql/<version>/bin``; elsewhere they are found on
``PATH``): ``initdb`` makes a cluster in a temporary folder and ``pg_ctl``
starts it on a free port of 127.0.0.1, with no system service, no password
(``trust`` on loopback) and nothing left behind when it stops. ``initdb``
refuses to run as root, so a root process runs both as the ``postgres`` user,
which must be able to enter the folder.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

from eventual import EventualError

__all__ = ["TemporaryServer", "find_binaries"]

_SERVER_USER = "postgres"


def find_binaries() -> Path | None:
    """Return the folder of ``initdb`` and ``pg_ctl`` (the newest version), or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: [int(p) for p in Path(path).parent.parent.name.split(".") if p.isdigit()],
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TemporaryServer:
    """A PostgreSQL cluster in a temporary folder, running until :meth:`stop`.

    Example:
        with TemporaryServer() as server:
            backend = PostgresBackend(server.dsn())

    Args:
        durable: Keep PostgreSQL's durability (``fsync``, synchronous commits),
            as a benchmark must; tests leave it off, being about behaviour.
        max_connections: The server's connection limit.

    Raises:
        EventualError: The PostgreSQL binaries are not installed.
    """

    def __init__(self, *, durable: bool = False, max_connections: int = 200) -> None:
        binaries = find_binaries()
        if binaries is None:
            raise EventualError(
                "PostgreSQL's initdb and pg_ctl are not installed "
                "(on Debian: apt-get install postgresql)"
            )
        self.binaries = binaries
        self.durable = durable
        self.max_connections = max_connections
        self.port = 0
        self.folder: Path | None = None

    def _run(self, *command: str) -> None:
        argv = [str(self.binaries / command[0]), *command[1:]]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", _SERVER_USER, "--", *argv]
        subprocess.run(argv, check=True, capture_output=True)

    def start(self) -> TemporaryServer:
        """Create the cluster and start the server (waits until it accepts connections)."""
        folder = Path(tempfile.mkdtemp(prefix="eventual-pg-"))
        folder.chmod(0o777)  # the server's user must be able to enter it
        self.folder = folder
        self.port = _free_port()
        data = str(folder / "data")
        settings = [
            f"-p {self.port}",
            f"-k {folder}",
            "-c listen_addresses=127.0.0.1",
            f"-c max_connections={self.max_connections}",
        ]
        if not self.durable:
            settings += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        try:
            self._run(
                "initdb",
                "-D",
                data,
                "-A",
                "trust",
                "-U",
                _SERVER_USER,
                "-E",
                "UTF8",
                *([] if self.durable else ["--no-sync"]),
            )
            self._run(
                "pg_ctl",
                "-D",
                data,
                "-o",
                " ".join(settings),
                "-l",
                str(folder / "server.log"),
                "-w",
                "start",
            )
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            self.folder = None
            raise
        return self

    def dsn(self, database: str = "postgres") -> str:
        """Return the URL of ``database`` on this server."""
        return f"postgresql://{_SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        """Stop the server at once and delete its folder (idempotent)."""
        folder, self.folder = self.folder, None
        if folder is None:
            return
        try:
            self._run("pg_ctl", "-D", str(folder / "data"), "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass  # already stopped: only the folder is left to remove
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def __enter__(self) -> TemporaryServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
