"""Stand-in definitions keep their original's name, options and types."""

from __future__ import annotations

from datetime import timedelta

import attrs

from eventual import RetryPolicy, task, workflow
from eventual_testing._stand_ins import StandInTask, StandInWorkflow


@attrs.frozen
class Parcel:
    weight: int


@task(
    timeout=timedelta(seconds=30),
    heartbeat_timeout=timedelta(seconds=5),
    retry=RetryPolicy(max_attempts=4),
)
async def weigh(parcel: Parcel, *, unit: str = "g") -> int:
    return parcel.weight


@workflow(timeout=timedelta(days=1))
async def deliver(parcel: Parcel) -> str:
    return f"{await weigh(parcel)}g"


async def test_a_task_stand_in_has_the_original_options_and_runs_its_code() -> None:
    """Without a mock the stand-in is the original task under the same name and options."""
    stand_in = StandInTask(weigh)
    assert (stand_in.name, stand_in.timeout, stand_in.heartbeat_timeout, stand_in.retry) == (
        "weigh",
        timedelta(seconds=30),
        timedelta(seconds=5),
        RetryPolicy(max_attempts=4),
    )
    assert stand_in.source == weigh.source
    assert stand_in.return_type is int
    args, kwargs = stand_in.decode_args(weigh.encode_args([Parcel(3)], {"unit": "kg"}))
    assert await stand_in.run(*args, **kwargs) == 3


def test_a_workflow_stand_in_keeps_the_original_types() -> None:
    """The stand-in workflow encodes and decodes like the original."""
    stand_in = StandInWorkflow(deliver)
    assert (stand_in.name, stand_in.timeout, stand_in.source) == (
        "deliver",
        timedelta(days=1),
        deliver.source,
    )
    assert stand_in.input_type is Parcel
    assert stand_in.output_type is str
    assert stand_in.decode_input({"weight": 2}) == Parcel(2)
