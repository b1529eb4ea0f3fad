"""The Django application's own URLs; /orders/ belongs to the service (see asgi.py)."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("buy/<str:oid>", views.buy),
    path("bought/<str:oid>", views.bought),
    path("approve/<str:oid>", views.approve),
]
