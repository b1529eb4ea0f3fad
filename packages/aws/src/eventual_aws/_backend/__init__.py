"""The AWS backend: DynamoDB holds the truth, SQS and EventBridge Scheduler ring the doorbell."""

from ._backend import AwsBackend as AwsBackend
from ._backend import table_definition as table_definition
from ._config import AwsBackendConfig as AwsBackendConfig

__all__ = ["AwsBackend", "AwsBackendConfig", "table_definition"]
