"""eventual in SST v3 apps: the ``EventualService`` component and ``eventual sst add``."""

from ._component import COMPONENT_FILE as COMPONENT_FILE
from ._component import SstAddition as SstAddition
from ._component import add_service as add_service
from ._component import component_source as component_source
from ._component import config_lines as config_lines

__all__ = [
    "COMPONENT_FILE",
    "SstAddition",
    "add_service",
    "component_source",
    "config_lines",
]
