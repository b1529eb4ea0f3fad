"""A PYTHONBREAKPOINT target that records where it was called instead of debugging."""

from __future__ import annotations

import sys

calls: list[str] = []


def record(*args: object, **kwargs: object) -> None:
    """Note the names of the functions on the stack, like a debugger would show them."""
    frame = sys._getframe(1)
    names = []
    while frame is not None:
        names.append(frame.f_code.co_name)
        frame = frame.f_back  # type: ignore[assignment]
    calls.append(" ".join(names))
