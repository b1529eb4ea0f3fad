"""eventual-aws's plugin: the ``aws`` backend, configured from the plan's environment."""

from __future__ import annotations

from collections.abc import Sequence

from eventual.plugins import BackendProvider, EventualConfig, hookimpl
from eventual.spi import Backend

__all__ = ["eventual_backend_providers"]


def _aws(config: EventualConfig) -> Backend:
    # Imported when chosen, so listing backends never imports boto3.
    from ._backend import AwsBackend
    from ._config import AwsBackendConfig

    return AwsBackend(AwsBackendConfig.from_config(config))


@hookimpl
def eventual_backend_providers() -> Sequence[BackendProvider]:
    """Contribute the ``aws`` backend (DynamoDB, S3, SQS and EventBridge Scheduler)."""
    return [
        BackendProvider(
            name="aws",
            description="DynamoDB holds the state, SQS and EventBridge Scheduler wake the "
            "functions (EVENTUAL_AWS_TABLE, EVENTUAL_AWS_BUCKET, ...)",
            create=_aws,
        )
    ]
