"""Owner names that tell whether the process holding a lease on this machine is gone."""

from __future__ import annotations

import subprocess
import sys

import pytest

from eventual.spi import holder_gone, process_owner

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pids are POSIX here")


def _owner_of(pid: int) -> str:
    """Return the owner name the process ``pid`` would have made, from this one's."""
    name, _, where = process_owner("engine").partition("@")
    _, _, boot, namespace, host = where.split(".", 4)
    start = "0"
    if sys.platform == "linux":
        with open(f"/proc/{pid}/stat") as stat:
            start = stat.read().rpartition(")")[2].split()[19]
    return f"{name}@{pid}.{start}.{boot}.{namespace}.{host}"


def test_this_process_is_never_gone() -> None:
    """The owner name of the running process says it is alive, bare or as a lease token."""
    owner = process_owner("engine")
    assert not holder_gone(owner)
    assert not holder_gone(f"{owner}:abc123")


def test_a_live_process_keeps_its_leases_and_a_dead_one_loses_them() -> None:
    """Another live process on this machine is not gone; once exited and reaped, it is."""
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        owner = _owner_of(child.pid)
        assert not holder_gone(owner)
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(30)
    assert holder_gone(owner)


@pytest.mark.skipif(sys.platform != "linux", reason="start times come from /proc")
def test_a_reused_pid_does_not_make_a_dead_holder_alive() -> None:
    """A pid now held by a process started later than the holder counts as gone."""
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        name, _, where = _owner_of(child.pid).partition("@")
        pid, start, rest = where.split(".", 2)
        assert holder_gone(f"{name}@{pid}.{int(start) - 1}.{rest}")
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(30)


@pytest.mark.parametrize(
    "owner",
    [
        "engine-01J0000000000000000000000",  # an owner name from before hosts were named
        "engine-x@1.2.abcdef.3.another-host.example",
        "not an owner at all",
        "",
    ],
)
def test_owners_it_cannot_judge_keep_their_leases(owner: str) -> None:
    """Old owner names, other hosts and garbage are never gone: their leases lapse by time."""
    assert not holder_gone(owner)
