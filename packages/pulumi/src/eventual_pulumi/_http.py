"""The HTTP API: API Gateway v2 (payload 2.0), one integration per function, the plan's routes."""

from __future__ import annotations

from collections.abc import Mapping

import attrs
import pulumi

from eventual_aws import HttpApiPlan

from ._aws import aws
from ._values import Values

__all__ = ["HttpApi", "create_http_api"]


@attrs.frozen(kw_only=True)
class HttpApi:
    """The API and the resources that make it serve (each reachable).

    Attributes:
        api: The HTTP API.
        stage: Its ``$default`` stage, deployed on every change.
        integrations: One Lambda proxy integration per function that serves routes.
        routes: Each route, by its route key (``GET /orders/{order_id}``).
        permissions: Each function's permission for API Gateway to invoke it.
    """

    api: aws.apigatewayv2.Api
    stage: aws.apigatewayv2.Stage
    integrations: dict[str, aws.apigatewayv2.Integration]
    routes: dict[str, aws.apigatewayv2.Route]
    permissions: dict[str, aws.lambda_.Permission]


def create_http_api(
    name: str,
    http_api: HttpApiPlan,
    functions: Mapping[str, aws.lambda_.Function],
    values: Values,
    *,
    parent: pulumi.Resource,
) -> HttpApi:
    """Create the HTTP API with the plan's routes, system routes authorized by IAM."""
    opts = pulumi.ResourceOptions(parent=parent)
    api = aws.apigatewayv2.Api(
        f"{name}-{http_api.id}", name=http_api.name, protocol_type="HTTP", opts=opts
    )
    values.provide(f"{http_api.id}.id", api.id)
    values.provide(f"{http_api.id}.url", api.api_endpoint)
    stage = aws.apigatewayv2.Stage(
        f"{name}-{http_api.id}-stage", api_id=api.id, name="$default", auto_deploy=True, opts=opts
    )
    integrations: dict[str, aws.apigatewayv2.Integration] = {}
    permissions: dict[str, aws.lambda_.Permission] = {}
    for function_name in sorted({r.function for r in http_api.routes}):
        function = functions[function_name]
        integrations[function_name] = aws.apigatewayv2.Integration(
            f"{name}-{http_api.id}-{function_name}",
            api_id=api.id,
            integration_type="AWS_PROXY",
            integration_method="POST",
            integration_uri=function.invoke_arn,
            payload_format_version=http_api.payload_format_version,
            timeout_milliseconds=http_api.integration_timeout_s * 1000,
            opts=opts,
        )
        permissions[function_name] = aws.lambda_.Permission(
            f"{name}-{http_api.id}-{function_name}-invoke",
            action="lambda:InvokeFunction",
            function=function.name,
            principal="apigateway.amazonaws.com",
            source_arn=api.execution_arn.apply(lambda arn: f"{arn}/*/*"),
            opts=opts,
        )
    routes: dict[str, aws.apigatewayv2.Route] = {}
    for route in http_api.routes:
        integration = integrations[route.function]
        routes[route.key] = aws.apigatewayv2.Route(
            f"{name}-{http_api.id}-{route.key}",
            api_id=api.id,
            route_key=route.key,
            target=integration.id.apply(lambda i: f"integrations/{i}"),
            authorization_type="AWS_IAM" if route.authorization == "iam" else "NONE",
            opts=opts,
        )
    return HttpApi(
        api=api, stage=stage, integrations=integrations, routes=routes, permissions=permissions
    )
