"""eventual on Pulumi: the ``Service`` component renders a service's AWS plan with pulumi-aws."""

from ._functions import Function as Function
from ._http import HttpApi as HttpApi
from ._options import FunctionOverrides as FunctionOverrides
from ._service import Service as Service
from ._storage import Bucket as Bucket

__all__ = ["Bucket", "Function", "FunctionOverrides", "HttpApi", "Service"]
