"""FastAPI: the runtime opened in the lifespan, the service mounted under /orders.

Run with ``uvicorn shopfront.fastapi_app:app``. The application's own endpoints
call ``fulfil.start(...)`` directly: the runtime opened in the lifespan is the
default of every request's task.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from eventual_cli import UiApp
from eventual_engine import HttpApp, LocalRuntime

from .service import Order, fulfil

runtime = LocalRuntime("shopfront.service", db=os.environ.get("SHOPFRONT_DB", "shopfront.db"))


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with runtime:
        yield


app = FastAPI(lifespan=lifespan)
# Commands at /orders/_rpc/..., the system API at /orders/_eventual/...,
# the timeline UI at /orders/_eventual/ui/.
app.mount("/orders", UiApp(HttpApp(runtime)))


@app.post("/buy/{oid}")
async def buy(oid: str, item: str = "book", quantity: int = 1) -> dict[str, str]:
    handle = await fulfil.start(Order(oid, item, quantity), name=oid)
    return {"execution": handle.id}


@app.get("/bought/{oid}")
async def bought(oid: str) -> dict[str, str]:
    status = await fulfil.handle(f"fulfil/{oid}").status()
    return {"status": status.value}
