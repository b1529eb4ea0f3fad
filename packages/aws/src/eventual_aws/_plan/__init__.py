"""The deploy-neutral plan of a service on AWS (see docs/aws.md, "The plan").

Importing it imports no AWS SDK: renderers and the CLI read plans without boto3.
"""

from ._build import plan as plan
from ._function import EventSourcePlan as EventSourcePlan
from ._function import FunctionKind as FunctionKind
from ._function import FunctionPlan as FunctionPlan
from ._names import PlanError as PlanError
from ._references import Reference as Reference
from ._resources import BucketPlan as BucketPlan
from ._resources import EventBusPlan as EventBusPlan
from ._resources import ExpirationPlan as ExpirationPlan
from ._resources import HttpApiPlan as HttpApiPlan
from ._resources import LogGroupPlan as LogGroupPlan
from ._resources import QueuePlan as QueuePlan
from ._resources import RedrivePlan as RedrivePlan
from ._resources import RolePlan as RolePlan
from ._resources import RoutePlan as RoutePlan
from ._resources import RulePlan as RulePlan
from ._resources import ScheduleGroupPlan as ScheduleGroupPlan
from ._resources import SchedulePlan as SchedulePlan
from ._resources import ScheduleRetryPlan as ScheduleRetryPlan
from ._resources import StatementPlan as StatementPlan
from ._resources import TableIndexPlan as TableIndexPlan
from ._resources import TablePlan as TablePlan
from ._service_plan import PLAN_VERSION as PLAN_VERSION
from ._service_plan import ServicePlan as ServicePlan
from ._settings import shards_from_config as shards_from_config

__all__ = [
    "BucketPlan",
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
    "StatementPlan",
    "TableIndexPlan",
    "TablePlan",
    "plan",
    "shards_from_config",
]
