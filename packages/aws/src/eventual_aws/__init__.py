"""eventual on AWS: the service plan, the boto3 runtime, the Lambda handlers and the simulator."""

from typing import TYPE_CHECKING

from ._bundle import Bundle as Bundle
from ._bundle import BundleError as BundleError
from ._bundle import BundleOptions as BundleOptions
from ._bundle import build_bundle as build_bundle
from ._plan import PLAN_VERSION as PLAN_VERSION
from ._plan import BucketPlan as BucketPlan
from ._plan import EventBusPlan as EventBusPlan
from ._plan import EventSourcePlan as EventSourcePlan
from ._plan import ExpirationPlan as ExpirationPlan
from ._plan import FunctionKind as FunctionKind
from ._plan import FunctionPlan as FunctionPlan
from ._plan import HttpApiPlan as HttpApiPlan
from ._plan import LogGroupPlan as LogGroupPlan
from ._plan import PlanError as PlanError
from ._plan import QueuePlan as QueuePlan
from ._plan import RedrivePlan as RedrivePlan
from ._plan import Reference as Reference
from ._plan import RolePlan as RolePlan
from ._plan import RoutePlan as RoutePlan
from ._plan import RulePlan as RulePlan
from ._plan import ScheduleGroupPlan as ScheduleGroupPlan
from ._plan import SchedulePlan as SchedulePlan
from ._plan import ScheduleRetryPlan as ScheduleRetryPlan
from ._plan import ServicePlan as ServicePlan
from ._plan import StatementPlan as StatementPlan
from ._plan import TableIndexPlan as TableIndexPlan
from ._plan import TablePlan as TablePlan
from ._plan import plan as plan
from ._plan import shards_from_config as shards_from_config

if TYPE_CHECKING:
    from ._sigv4 import SigV4Auth as SigV4Auth
    from ._simulator import Simulator as Simulator

__all__ = [
    "BucketPlan",
    "Bundle",
    "BundleError",
    "BundleOptions",
    "EventBusPlan",
    "EventSourcePlan",
    "ExpirationPlan",
    "FunctionKind",
    "FunctionPlan",
    "HttpApiPlan",
    "LogGroupPlan",
    "PLAN_VERSION",
    "PlanError",
    "QueuePlan",
    "RedrivePlan",
    "Reference",
    "RolePlan",
    "RoutePlan",
    "RulePlan",
    "ScheduleGroupPlan",
    "SchedulePlan",
    "ScheduleRetryPlan",
    "ServicePlan",
    "SigV4Auth",
    "Simulator",
    "StatementPlan",
    "TableIndexPlan",
    "TablePlan",
    "build_bundle",
    "plan",
    "shards_from_config",
]


def __getattr__(name: str) -> object:
    # The simulator needs boto3 and httpx, the signer httpx; planning a service
    # (and every Lambda handler) must not import them.
    if name == "Simulator":
        from ._simulator import Simulator

        return Simulator
    if name == "SigV4Auth":
        from ._sigv4 import SigV4Auth

        return SigV4Auth
    raise AttributeError(f"module 'eventual_aws' has no attribute {name!r}")
