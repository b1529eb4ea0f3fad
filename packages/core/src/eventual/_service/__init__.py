"""Services: the definitions found in a module or package, and their manifest.

Three cuts: :mod:`._discovery` imports a service's modules and finds where each
definition lives, :mod:`._registry` holds them by kind and name (the
:class:`Service`), and :mod:`._manifest` describes them for deploy targets.
"""

from ._discovery import ServiceLoadError as ServiceLoadError
from ._manifest import MANIFEST_VERSION as MANIFEST_VERSION
from ._registry import DefinitionNotFound as DefinitionNotFound
from ._registry import DuplicateDefinition as DuplicateDefinition
from ._registry import Service as Service

__all__ = [
    "MANIFEST_VERSION",
    "DefinitionNotFound",
    "DuplicateDefinition",
    "Service",
    "ServiceLoadError",
]
