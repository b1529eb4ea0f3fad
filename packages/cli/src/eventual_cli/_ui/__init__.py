"""The timeline web UI that ``eventual local`` serves at ``/_eventual/ui/``.

A static page (``static/``: HTML, a script, a style sheet; no build step, no
network access beyond the service) over the same system API the CLI uses.
"""

from ._asgi import UI_PATH as UI_PATH
from ._asgi import UiApp as UiApp

__all__ = ["UI_PATH", "UiApp"]
