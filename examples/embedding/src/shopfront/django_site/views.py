"""Django views that start and read executions of the shop's service."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from django.http import HttpRequest, JsonResponse

from ..service import Order, approval, fulfil


async def buy(request: HttpRequest, oid: str) -> JsonResponse:
    """Start fulfilling an order (POST), through the runtime the ASGI application opened."""
    if request.method != "POST":
        return JsonResponse({"error": "POST only"}, status=405)
    handle = await fulfil.start(Order(oid, "book", 1), name=oid)
    return JsonResponse({"execution": handle.id})


async def bought(request: HttpRequest, oid: str) -> JsonResponse:
    """Say how an order's execution stands."""
    status = await fulfil.handle(f"fulfil/{oid}").status()
    return JsonResponse({"status": status.value})


def approve(request: HttpRequest, oid: str) -> JsonResponse:
    """Approve an order from a synchronous view, which Django runs in a worker thread."""
    if request.method != "POST":
        return JsonResponse({"error": "POST only"}, status=405)
    async_to_sync(approval.send)(f"fulfil/{oid}", True)
    return JsonResponse({"approved": oid})
