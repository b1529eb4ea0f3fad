"""Placeholders of the plan filled with Pulumi outputs.

The plan writes values known only once deployed as ``${<plan id>.<attribute>}``
(``eventual_aws.Reference``). Each is filled from the output of the resource
that provides it, string by string, so a resource depends only on the
resources its own properties name rather than on the whole service.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

from eventual_aws import PlanError, Reference, ServicePlan

__all__ = ["Values"]


class Values:
    """The outputs standing for the plan's placeholders, filled in as resources are created."""

    def __init__(self, plan: ServicePlan) -> None:
        self._plan = plan
        self._references: list[Reference] = plan.references()
        self._outputs: dict[str, pulumi.Output[str]] = {}

    def provide(self, key: str, value: pulumi.Input[str]) -> None:
        """Record the value of one placeholder, by its key (``queue.workflow.url``)."""
        self._outputs[key] = pulumi.Output.from_input(value)

    def get(self, key: str) -> pulumi.Output[str]:
        """Return the value of one placeholder (``table.arn``).

        Raises:
            PlanError: Nothing provided it yet.
        """
        try:
            return self._outputs[key]
        except KeyError:
            raise PlanError(
                f"the plan of {self._plan.service!r} refers to ${{{key}}}, which this "
                "renderer does not provide"
            ) from None

    def fill(self, text: str) -> pulumi.Input[str]:
        """Return ``text`` with each placeholder replaced by its value (an output if any)."""
        used = [r for r in self._references if r.placeholder in text]
        if not used:
            return text
        outputs = [self.get(r.key) for r in used]

        def substitute(values: Sequence[Any]) -> str:
            filled = text
            for reference, value in zip(used, values, strict=True):
                filled = filled.replace(reference.placeholder, str(value))
            return filled

        return pulumi.Output.all(*outputs).apply(substitute)

    def fill_all(self, texts: Sequence[str]) -> pulumi.Output[list[str]]:
        """Return every string of ``texts`` filled, as one output."""
        return pulumi.Output.all(*(self.fill(t) for t in texts)).apply(
            lambda values: [str(v) for v in values]
        )

    def fill_environment(self, environment: Mapping[str, str]) -> dict[str, pulumi.Input[str]]:
        """Return an environment whose values are filled."""
        return {name: self.fill(value) for name, value in environment.items()}

    def policy(self, statements: Sequence[Mapping[str, Any]]) -> pulumi.Output[str]:
        """Return an IAM policy document (JSON) of ``Allow`` statements, placeholders filled.

        Args:
            statements: Each with ``actions`` and ``arns`` (plan strings), and an
                optional ``condition``.
        """
        parts = [
            pulumi.Output.all(
                actions=list(s["actions"]),
                arns=self.fill_all(list(s["arns"])),
                condition=s.get("condition"),
            )
            for s in statements
        ]

        def document(filled: Sequence[Mapping[str, Any]]) -> str:
            body = []
            for part in filled:
                statement: dict[str, Any] = {
                    "Effect": "Allow",
                    "Action": sorted(part["actions"]),
                    "Resource": part["arns"],
                }
                if part.get("condition"):
                    statement["Condition"] = part["condition"]
                body.append(statement)
            return json.dumps({"Version": "2012-10-17", "Statement": body}, sort_keys=True)

        return pulumi.Output.all(*parts).apply(document)
