"""eventual-aws's event bus plugin: the ``eventbridge`` bus, configured from the plan."""

from __future__ import annotations

from collections.abc import Sequence

from eventual.plugins import EventBusProvider, EventualConfig, hookimpl
from eventual.spi import EventBus

__all__ = ["eventual_event_bus_providers"]


def _eventbridge(config: EventualConfig) -> EventBus:
    # Imported when chosen, so listing buses never imports boto3.
    from ._bus import EventBridgeBus, EventBridgeBusConfig

    return EventBridgeBus(EventBridgeBusConfig.from_config(config))


@hookimpl
def eventual_event_bus_providers() -> Sequence[EventBusProvider]:
    """Contribute the ``eventbridge`` bus (rules feeding one SQS queue per subscription)."""
    return [
        EventBusProvider(
            name="eventbridge",
            description="Amazon EventBridge: rules deliver to one SQS queue per subscription "
            "(EVENTUAL_AWS_EVENT_BUS_NAME, EVENTUAL_AWS_TABLE, ...)",
            create=_eventbridge,
        )
    ]
