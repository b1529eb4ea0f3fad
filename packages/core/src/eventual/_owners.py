"""Owner names that say which process holds a lease, so a dead holder's work is taken back.

Leases lapse by time because a holder on another machine cannot be asked whether
it is alive. A holder on this machine can: an owner name carries the host, the
boot, the pid namespace, the pid and the process's start time, and a process
that finds such a name of a process that no longer runs (or a pid now used by a
younger process, or a machine booted since) knows the lease will never be renewed
and may release it at once. Anything it cannot tell (another host, another pid
namespace, an older owner name, a platform without ``/proc``) keeps the lease
until it lapses, so two live processes sharing a file never lose each other's
claims.
"""

from __future__ import annotations

import functools
import os
import re
import socket

from ulid import ULID

__all__ = ["holder_gone", "process_owner"]

# kind-ULID@pid.start.boot.pidns.host: no ':' or '|', which lease tokens and ids use
# as separators, and the host last because it may hold dots.
_OWNER = re.compile(r"^[A-Za-z0-9_-]+@(\d+)\.(\d+)\.([0-9a-f]+)\.(\d+)\.(.+)$")
_UNKNOWN = "0"


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii") as file:
            return file.read()
    except (OSError, ValueError):
        return None


def _stat(pid: int) -> tuple[str, str] | None:
    """Return a process's state letter and start time (clock ticks since boot)."""
    text = _read(f"/proc/{pid}/stat")
    if text is None:
        return None
    # The command name may hold spaces and parentheses: fields resume after the last ')'.
    fields = text.rpartition(")")[2].split()
    if len(fields) < 20:
        return None
    return fields[0], fields[19]


@functools.cache
def _boot() -> str:
    text = _read("/proc/sys/kernel/random/boot_id")
    return text.strip().replace("-", "")[:16] if text else _UNKNOWN


@functools.cache
def _pid_namespace() -> str:
    try:
        link = os.readlink("/proc/self/ns/pid")
    except OSError:
        return _UNKNOWN
    digits = re.sub(r"\D", "", link)
    return digits or _UNKNOWN


def _host() -> str:
    return socket.gethostname().replace("@", "_") or "localhost"


def _start(pid: int) -> str:
    stat = _stat(pid)
    return stat[1] if stat is not None else _UNKNOWN


def process_owner(kind: str) -> str:
    """Return a new owner name for the leases this process takes.

    Args:
        kind: Letters, digits, ``-`` or ``_`` saying what holds the leases (``"engine"``).

    Returns:
        ``"{kind}-{ulid}@{pid}.{start}.{boot}.{pidns}.{host}"``, unique to this call,
        which :func:`holder_gone` reads back.
    """
    pid = os.getpid()
    return f"{kind}-{ULID()}@{pid}.{_start(pid)}.{_boot()}.{_pid_namespace()}.{_host()}"


def holder_gone(owner: str) -> bool:
    """Tell whether the process named in ``owner`` has certainly stopped.

    True only when the owner was made by :func:`process_owner` on this host in this
    pid namespace and its process no longer runs: the machine booted since, the
    pid is free or a zombie, or it now belongs to a process started later. Owners
    from elsewhere, or of unknown format, are never gone: their leases lapse by time.

    Args:
        owner: An owner name, or a lease token ``"{owner}:{unique}"``.
    """
    match = _OWNER.match(owner.partition(":")[0])
    if match is None:
        return False
    pid_text, start, boot, namespace, host = match.groups()
    if host != _host() or namespace != _pid_namespace():
        return False
    if boot != _UNKNOWN and _boot() != _UNKNOWN and boot != _boot():
        return True
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, someone else's
    except OSError:
        return False
    stat = _stat(pid)
    if stat is None:
        return False
    state, now_start = stat
    return state in ("Z", "X") or (start != _UNKNOWN and now_start != start)
