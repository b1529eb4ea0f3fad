"""Django: the service mounted under /orders of a Django ASGI application."""
