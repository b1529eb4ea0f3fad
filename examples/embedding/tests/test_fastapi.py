"""FastAPI with a lifespan: ambient calls in endpoints, the service and its UI under /orders."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from shopfront.service import approval

from eventual import SyncServiceClient

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_endpoints_start_workflows_with_the_lifespans_runtime(fastapi_shop: str) -> None:
    """An endpoint's fulfil.start() uses the runtime opened in the lifespan."""
    bought = httpx.post(f"{fastapi_shop}/buy/f1", params={"quantity": 2})
    assert bought.json() == {"execution": "fulfil/f1"}
    with SyncServiceClient(f"{fastapi_shop}/orders") as orders:
        handle = orders.execution("fulfil/f1")
        handle.signal(approval, True)
        assert handle.result(timeout=30) == "shipped"
    assert httpx.get(f"{fastapi_shop}/bought/f1").json() == {"status": "SUCCEEDED"}


def test_the_mounted_api_answers_under_its_prefix(fastapi_shop: str) -> None:
    """Commands, the system API and the OpenAPI document answer under /orders."""
    order = {"id": "f2", "item": "lamp", "quantity": 9}
    placed = httpx.post(f"{fastapi_shop}/orders/_rpc/place_order", json=order)
    openapi = httpx.get(f"{fastapi_shop}/orders/_eventual/openapi.json").json()
    assert placed.json() == "fulfil/f2"
    record = httpx.get(
        f"{fastapi_shop}/orders/_eventual/executions/fulfil/f2", params={"wait": "10"}
    )
    assert record.json()["result"] == "out-of-stock"
    assert openapi["servers"] == [{"url": "/orders"}]
    assert "/_rpc/place_order" in openapi["paths"]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_the_timeline_ui_loads_under_the_prefix(fastapi_shop: str, tmp_path: Path) -> None:
    """Headless Chromium shows an execution's page from /orders/_eventual/ui/."""
    # Out of stock: it ends at once (a running execution's page keeps long-polling).
    assert httpx.post(f"{fastapi_shop}/buy/f3", params={"quantity": 9}).status_code == 200
    httpx.get(f"{fastapi_shop}/orders/_eventual/executions/fulfil/f3", params={"wait": "10"})
    assert CHROMIUM is not None
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
    args += ["--disable-background-networking", f"--user-data-dir={tmp_path / 'profile'}"]
    args += ["--virtual-time-budget=5000", "--dump-dom"]
    url = f"{fastapi_shop}/orders/_eventual/ui/#/executions/fulfil/f3"
    done = subprocess.run([*args, url], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert '<h1 id="detail-title" tabindex="-1">fulfil/f3</h1>' in done.stdout
    assert "status-SUCCEEDED" in done.stdout
    assert re.search(r'data-kind="task"[^>]*>.*?reserve', done.stdout, re.S)
