"""Histories recorded by earlier versions of the engine, and the services that recorded them.

Replay compatibility is a promise to every execution still running: a change to
the executor or the history format must replay what older code recorded. The
recordings are JSON files in :data:`FOLDER` (objects with an ``events`` list,
as ``eventual export`` writes them): ``*.json`` were recorded by the workflows of
:mod:`~eventual_engine.conformance.histories.compat_shop`, ``versions/*.json``
by the invoicing service of
:mod:`~eventual_engine.conformance.histories.versions` (``invoice_v1.json`` by
``invoicing_v1``, ``invoice_v2.json`` by ``invoicing_v2``), and
``continued/*.json`` by executions continued as new. Anything that replays
(``eventual_engine.replay``, ``eventual replay``, a runtime of its own) proves
itself by replaying each recording against the module that recorded it, by its
module name, and reaching the recorded outcome.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["COMPAT_SHOP", "FOLDER", "recorded"]

FOLDER = Path(__file__).resolve().parent
"""The folder of the recordings (and of the modules that made them)."""

COMPAT_SHOP = f"{__name__}.compat_shop"
"""The module name of the workflows that recorded ``FOLDER/*.json``."""


def recorded() -> list[Path]:
    """Return the recordings of :data:`COMPAT_SHOP`'s workflows, sorted by name."""
    return sorted(FOLDER.glob("*.json"))
