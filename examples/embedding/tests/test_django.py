"""Django ASGI: the service mounted under /orders beside Django's own async views."""

from __future__ import annotations

import httpx


def test_django_views_and_the_mounted_service(django_site: str) -> None:
    """A Django view starts an execution; the service answers its signal under /orders."""
    bought = httpx.post(f"{django_site}/buy/d1")
    assert bought.json() == {"execution": "fulfil/d1"}
    signalled = httpx.post(
        f"{django_site}/orders/_eventual/executions/fulfil/d1/signals/approval", json=False
    )
    assert signalled.status_code == 202
    record = httpx.get(
        f"{django_site}/orders/_eventual/executions/fulfil/d1", params={"wait": "10"}
    )
    assert record.json()["result"] == "rejected"
    assert httpx.get(f"{django_site}/bought/d1").json() == {"status": "SUCCEEDED"}
    assert httpx.get(f"{django_site}/nowhere").status_code == 404  # Django's own answer


def test_a_synchronous_view_reaches_the_runtime(django_site: str) -> None:
    """A sync view (run in a thread) sends a signal through the runtime with async_to_sync."""
    assert httpx.post(f"{django_site}/buy/d2").json() == {"execution": "fulfil/d2"}
    assert httpx.post(f"{django_site}/approve/d2").json() == {"approved": "d2"}
    record = httpx.get(
        f"{django_site}/orders/_eventual/executions/fulfil/d2", params={"wait": "10"}
    )
    assert record.json()["result"] == "shipped"
