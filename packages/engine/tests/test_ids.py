"""Persisted ids and tokens: their formats are pinned, and tokens parse back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventual import EventualError
from eventual_engine import _ids


def test_formats_of_stored_ids_are_pinned() -> None:
    """Each id keeps the format recorded histories and stored rows already use."""
    token = _ids.task_token("wf/a", 3, 2)
    assert token == "wf/a|3|2"
    assert _ids.outcome_message_id(token) == "wf/a|3|2|done"
    assert _ids.start_message_id("wf/a") == "wf/a|start"
    assert _ids.cancel_message_id("wf/a").startswith("wf/a|cancel|")
    assert _ids.cancel_message_id("wf/a") != _ids.cancel_message_id("wf/a")
    assert _ids.child_cancel_message_id("wf/a", "c/b") == "wf/a|cancel|c/b"
    assert _ids.child_outcome_message_id("c/b") == "c/b|outcome"
    assert _ids.clash_message_id("c/b", "wf/a") == "c/b|clash|wf/a"
    assert _ids.sent_signal_message_id("wf/a", 4) == "wf/a|signal|4"
    assert _ids.carried_signal_id("wf/a", 2, 0) == "wf/a|run|2|signal|0"
    assert _ids.timer_id("wf/a", "timer", 5) == "wf/a|timer|5|0"
    assert _ids.timer_id("wf/a", "workflow_timeout") == "wf/a|workflow_timeout|0|0"
    assert _ids.deadline_timer_ids(_ids.parse_task_token(token)) == [
        "wf/a|task_timeout|3|2",
        "wf/a|heartbeat|3|2",
    ]
    assert _ids.child_execution_name("a", 7) == "a-7"
    assert _ids.execution_id("wf", "a-7") == "wf/a-7"
    assert _ids.relayed_event_id("svc", "wf/a|9") == "svc|wf/a|9"
    assert _ids.seed_for("wf/a") == _ids.seed_for("wf/a") != _ids.seed_for("wf/b")


def test_fresh_ids_are_unique() -> None:
    """Signals sent from outside and published events get a new id each time."""
    assert _ids.signal_message_id().startswith("signal|")
    assert _ids.signal_message_id() != _ids.signal_message_id()
    assert _ids.new_event_id() != _ids.new_event_id()


@given(
    execution=st.text(min_size=1),
    seq=st.integers(min_value=0, max_value=10**9),
    attempt=st.integers(min_value=1, max_value=10**6),
)
def test_a_task_token_parses_back(execution: str, seq: int, attempt: int) -> None:
    """Any execution id, even one holding '|', comes back from its token with seq and attempt."""
    parsed = _ids.parse_task_token(_ids.task_token(execution, seq, attempt))
    assert (parsed.execution_id, parsed.seq, parsed.attempt) == (execution, seq, attempt)
    assert str(parsed) == _ids.task_token(execution, seq, attempt)


@given(
    execution=st.text(min_size=1),
    seq=st.integers(min_value=0, max_value=10**9),
    attempt=st.integers(min_value=1, max_value=10**6),
)
def test_a_signed_token_parses_back_and_matches_only_its_key(
    execution: str, seq: int, attempt: int
) -> None:
    """A four-part token gives back its parts and verifies under its key, and no other."""
    key, other = _ids.new_task_key(), _ids.new_task_key()
    mac = _ids.task_mac(key, execution, seq, attempt)
    assert len(mac) == _ids.MAC_LENGTH
    token = _ids.completion_token(_ids.task_token(execution, seq, attempt), mac)
    parsed = _ids.parse_task_token(token)
    assert (parsed.execution_id, parsed.seq, parsed.attempt, parsed.mac) == (
        execution,
        seq,
        attempt,
        mac,
    )
    assert str(parsed) == _ids.task_token(execution, seq, attempt)
    assert _ids.token_matches(parsed, key)
    assert not _ids.token_matches(parsed, other)
    assert not _ids.token_matches(parsed, None)  # an unsigned execution takes no mac
    unsigned = _ids.parse_task_token(_ids.task_token(execution, seq, attempt))
    assert _ids.token_matches(unsigned, None)
    assert not _ids.token_matches(unsigned, key)


def test_a_child_key_is_derived_from_its_parents() -> None:
    """The same parent and child give the same key; another child or parent another one."""
    parent = _ids.new_task_key()
    child = _ids.child_task_key(parent, "wf/c")
    assert child == _ids.child_task_key(parent, "wf/c")
    assert child not in (parent, _ids.child_task_key(parent, "wf/d"))
    assert child != _ids.child_task_key(_ids.new_task_key(), "wf/c")
    assert _ids.child_task_key(None, "wf/c") is None


@pytest.mark.parametrize("token", ["", "a", "a|1", "|1|1", "a|x|1", "a|1|-1", "a|1| 1", "a|²|1"])
def test_a_malformed_task_token_is_refused(token: str) -> None:
    """A token without an execution and two decimal numbers raises, naming it."""
    with pytest.raises(EventualError, match="invalid task token"):
        _ids.parse_task_token(token)


@given(execution=st.text(), number=st.integers(min_value=0))
def test_an_outbox_id_parses_back(execution: str, number: int) -> None:
    """An outbox id gives back its execution and number."""
    assert _ids.parse_outbox_id(_ids.outbox_id(execution, number)) == (execution, number)
    assert _ids.parse_outbox_id(f"{execution}|x") is None
