"""The orders example service; its definitions live in :mod:`orders.service`."""
