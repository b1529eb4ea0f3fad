"""The system API's schedules: list scheduled workflows, pause and resume them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from eventual import HttpRequest, HttpResponse, ScheduleInfo
from eventual.codec import JsonValue, encode

from .._schedules import pause_schedule, resume_schedule, schedule_statuses
from ._params import MAX_NAME, check_name
from ._responses import json_response
from ._routing import Endpoint
from ._served import ServedEngine
from ._system_bodies import Accepted

__all__ = ["ScheduleList", "ScheduleRoutes"]

_WORKFLOW_PARAM: tuple[tuple[str, dict[str, JsonValue]], ...] = (
    ("workflow", {"type": "string", "minLength": 1, "maxLength": MAX_NAME}),
)


@attrs.frozen(kw_only=True)
class ScheduleList:
    """The scheduled workflows of the service, by name."""

    schedules: list[ScheduleInfo]


class ScheduleRoutes:
    """``/_eventual/schedules``: the handlers and how the OpenAPI document describes them."""

    def __init__(self, engine: Callable[[], ServedEngine]) -> None:
        self._engine = engine

    def endpoints(self, prefix: str, ep: Callable[..., Endpoint]) -> list[Endpoint]:
        """Return the endpoints, built with the system API's ``ep`` helper."""
        one = f"{prefix}/schedules/{{workflow}}"
        control: dict[str, Any] = {
            "response_type": Accepted,
            "status": 202,
            "param_schemas": _WORKFLOW_PARAM,
            "errors": ("409",),  # the scheduler has ended
        }
        return [
            ep(
                "GET",
                f"{prefix}/schedules",
                self._list,
                summary="List scheduled workflows: schedule, pause, next and last run",
                response_type=ScheduleList,
            ),
            ep(
                "POST",
                f"{one}/pause",
                self._pause,
                summary="Pause a scheduled workflow: no run starts until it is resumed",
                **control,
            ),
            ep(
                "POST",
                f"{one}/resume",
                self._resume,
                summary="Resume a scheduled workflow (missed runs follow its catch-up policy)",
                **control,
            ),
        ]

    async def _list(self, request: HttpRequest) -> HttpResponse:
        schedules = await schedule_statuses(self._engine())
        return json_response(encode(ScheduleList(schedules=schedules)))

    async def _pause(self, request: HttpRequest) -> HttpResponse:
        workflow = request.params["workflow"]
        check_name("path.workflow", workflow, "workflow")
        await pause_schedule(self._engine(), workflow)
        return json_response(encode(Accepted()), 202)

    async def _resume(self, request: HttpRequest) -> HttpResponse:
        workflow = request.params["workflow"]
        check_name("path.workflow", workflow, "workflow")
        await resume_schedule(self._engine(), workflow)
        return json_response(encode(Accepted()), 202)
