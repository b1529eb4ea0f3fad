"""Operability: alarms on dead letters and orchestrator errors, and a dashboard per service.

A message in a dead-letter queue is work the service gave up on (a task whose
handler kept failing, an event a subscription could not take), and an
orchestrator error stops executions from moving: both deserve someone's
attention. The alarms have no action; add one (``alarm.add_alarm_action``) to
page whoever runs the service.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from eventual_aws import ServicePlan

__all__ = ["monitor"]

_PERIOD = Duration.minutes(1)


def monitor(
    scope: Construct,
    plan: ServicePlan,
    *,
    queues: Mapping[str, sqs.Queue],
    functions: Mapping[str, lambda_.Function],
) -> tuple[dict[str, cloudwatch.Alarm], cloudwatch.Dashboard]:
    """Create the alarms (by plan id) and the dashboard of a service."""
    alarms: dict[str, cloudwatch.Alarm] = {}
    dead_letters = [q for q in plan.queues if q.redrive is None]
    for queue_plan in dead_letters:
        alarms[queue_plan.id] = cloudwatch.Alarm(
            scope,
            f"alarm.{queue_plan.id}",
            alarm_description=f"{queue_plan.name} holds messages: {queue_plan.purpose}",
            metric=queues[queue_plan.id].metric_approximate_number_of_messages_visible(
                period=_PERIOD, statistic="Maximum"
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
    orchestrator = plan.function("orchestrator")
    alarms[orchestrator.id] = cloudwatch.Alarm(
        scope,
        f"alarm.{orchestrator.id}",
        alarm_description=f"{orchestrator.physical_name} fails: executions are not moving",
        metric=functions[orchestrator.name].metric_errors(period=_PERIOD, statistic="Sum"),
        threshold=1,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    dashboard = cloudwatch.Dashboard(scope, "dashboard", dashboard_name=plan.prefix)
    dashboard.add_widgets(
        cloudwatch.AlarmStatusWidget(
            title=f"{plan.service}: alarms", alarms=list(alarms.values()), width=24
        )
    )
    dashboard.add_widgets(
        cloudwatch.GraphWidget(
            title="Invocations",
            left=[f.metric_invocations(label=name) for name, f in functions.items()],
            width=8,
        ),
        cloudwatch.GraphWidget(
            title="Errors",
            left=[f.metric_errors(label=name) for name, f in functions.items()],
            width=8,
        ),
        cloudwatch.GraphWidget(
            title="Duration (p99)",
            left=[f.metric_duration(label=name, statistic="p99") for name, f in functions.items()],
            width=8,
        ),
    )
    doorbells = [q for q in plan.queues if q.redrive is not None]
    dashboard.add_widgets(
        cloudwatch.GraphWidget(
            title="Oldest waiting message (s)",
            left=[
                queues[q.id].metric_approximate_age_of_oldest_message(label=q.id) for q in doorbells
            ],
            width=12,
        ),
        cloudwatch.GraphWidget(
            title="Dead letters",
            left=[
                queues[q.id].metric_approximate_number_of_messages_visible(label=q.id)
                for q in dead_letters
            ],
            width=12,
        ),
    )
    return alarms, dashboard
