"""The public surface of eventual-cli is pinned."""

from __future__ import annotations

import eventual_cli


def test_all_is_pinned() -> None:
    """eventual_cli.__all__ is exactly the expected, sorted list, and every name exists."""
    assert eventual_cli.__all__ == [
        "CannotListen",
        "LocalSettings",
        "UiApp",
        "cli",
        "main",
        "serve_local",
    ]
    for name in eventual_cli.__all__:
        assert hasattr(eventual_cli, name)
