"""eventual on AWS: the service plan, the boto3 runtime, the Lambda handlers and the simulator."""

__all__: list[str] = []
