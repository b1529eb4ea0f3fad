"""The simulator: a plan provisioned on a local AWS endpoint, its handlers run in-process."""

from ._functions import Functions, LambdaFunctions
from ._provision import Provisioned, provision
from ._simulator import Simulator

__all__ = ["Functions", "LambdaFunctions", "Provisioned", "Simulator", "provision"]
