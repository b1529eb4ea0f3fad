"""The plan's settings that a project keeps in ``[tool.eventual]``.

Every path that plans a project's service (``eventual plan``, ``eventual synth``,
``eventual sst bundle``) reads them here, so that they cannot disagree: a function
reading fewer index shards than the others write would miss items.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._access import SHARDS
from ._names import PlanError

if TYPE_CHECKING:
    from eventual.plugins import EventualConfig

__all__ = ["shards_from_config"]


def shards_from_config(config: EventualConfig) -> dict[str, int]:
    """Return the shard counts a project's configuration gives, for ``plan(shards=...)``.

    They are the ``aws_timer_shards``, ``aws_listing_shards``, ``aws_task_shards``,
    ``aws_inbox_shards`` and ``aws_outbox_shards`` options (``[tool.eventual]``),
    the same the ``aws`` backend reads; the ones not set are left out (1 by default).

    Raises:
        PlanError: A count is not an integer of 1 or more; the message names the option.
    """
    shards: dict[str, int] = {}
    for name in SHARDS:
        value = config.options.get(f"aws_{name}")
        if value is None or value == "":
            continue
        try:
            count = int(str(value))
        except ValueError:
            count = 0
        if count < 1:
            raise PlanError(
                f"aws_{name} in [tool.eventual] must be an integer of 1 or more, got {value!r}"
            )
        shards[name] = count
    return shards
