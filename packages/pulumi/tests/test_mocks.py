"""The tests' Pulumi mocks: a mocked program leaves no event loop behind."""

from __future__ import annotations

import gc
import warnings
from typing import Any

import pulumi_aws as aws


def test_a_mocked_program_leaves_no_unclosed_event_loop(run: Any) -> None:
    """The event loops Pulumi's mock monitor makes in its worker threads are closed by the run."""

    def program() -> None:
        for number in range(8):
            aws.sqs.Queue(f"queue-{number}")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        recorder = run(program)
        gc.collect()
    assert len(recorder.of_type("aws:sqs/queue:Queue")) == 8
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert unclosed == []
