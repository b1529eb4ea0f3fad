"""Testing a Pulumi program offline: run it under Pulumi's mocks and read what it created.

Importable without pytest; a program runs on an event loop of its own and leaves
none behind, so a test suite with ``filterwarnings = error`` stays green::

    from eventual_pulumi.testing import run_program

    recorder = run_program(lambda: runpy.run_path("__main__.py", run_name="__main__"))
    functions = recorder.of_type("aws:lambda/function:Function")
"""

from __future__ import annotations

from ._mocks import ACCOUNT as ACCOUNT
from ._mocks import API_ENDPOINT as API_ENDPOINT
from ._mocks import REGION as REGION
from ._mocks import Recorder as Recorder
from ._mocks import Resource as Resource
from ._mocks import run_program as run_program

__all__ = ["ACCOUNT", "API_ENDPOINT", "REGION", "Recorder", "Resource", "run_program"]
