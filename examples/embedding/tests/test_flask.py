"""Flask: synchronous views drive the service under `eventual local` with SyncServiceClient."""

from __future__ import annotations

from shopfront.flask_app import create_app


def test_flask_views_call_start_signal_and_wait(eventual_local: str) -> None:
    """A view calls a command, another signals and waits for the result, a third starts one."""
    client = create_app(eventual_local).test_client()
    assert client.post("/buy/k1").json == {"execution": "fulfil/k1"}
    assert client.post("/approve/k1").json == {"result": "shipped"}
    assert client.post("/direct/k2").json == {"result": "out-of-stock"}
