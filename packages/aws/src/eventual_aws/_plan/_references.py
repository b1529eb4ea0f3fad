"""Placeholders: resource attributes known only once a renderer has created the resource.

A value the plan cannot know (a queue's URL, the table's name, a function's ARN)
is written ``${<plan id>.<attribute>}``: ``${queue.workflow.url}``,
``${table.name}``, ``${function.forwarder.arn}``. The plan id is everything
before the last dot, so ids that hold dots (``queue.task.reserve_stock``) need no
escaping. ``${aws.region}``, ``${aws.account}`` and ``${aws.partition}`` name
the deployment's region, account and partition. A renderer replaces every
placeholder with the attribute it stands for (a CDK token, a Pulumi output, an
SST link); :meth:`ServicePlan.resolve` does it with known values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final

import attrs

from ._names import PlanError

__all__ = [
    "ATTRIBUTES",
    "PSEUDO_RESOURCE",
    "Reference",
    "check_references",
    "find_references",
    "kind_of",
    "substitute",
]

PSEUDO_RESOURCE: Final = "aws"
"""The id of the deployment itself: ``${aws.region}``, ``${aws.account}``, ``${aws.partition}``."""

ATTRIBUTES: Final[Mapping[str, frozenset[str]]] = {
    "table": frozenset({"name", "arn"}),
    "bucket": frozenset({"name", "arn"}),
    "queue": frozenset({"name", "arn", "url"}),
    "bus": frozenset({"name", "arn"}),
    "rule": frozenset({"name", "arn"}),
    "schedule_group": frozenset({"name", "arn"}),
    "schedule": frozenset({"name", "arn"}),
    "role": frozenset({"name", "arn"}),
    "api": frozenset({"id", "url"}),
    "function": frozenset({"name", "arn"}),
    "log_group": frozenset({"name", "arn"}),
    PSEUDO_RESOURCE: frozenset({"region", "account", "partition"}),
}
"""The attributes a placeholder may name, by the first part of the plan id."""

_PLACEHOLDER: Final = re.compile(r"\$\{([A-Za-z0-9_.\-]+)\.([a-z_]+)\}")


@attrs.frozen(kw_only=True, order=True)
class Reference:
    """One attribute of one plan resource, written ``${<resource>.<attribute>}``.

    Attributes:
        resource: The plan id (``queue.workflow``), or ``aws`` for the deployment.
        attribute: ``name``, ``arn``, ``url`` (queues, the API), ``id`` (the API),
            or for ``aws``: ``region``, ``account``, ``partition``.
    """

    resource: str
    attribute: str

    @property
    def key(self) -> str:
        """The text between ``${`` and ``}``: how :meth:`ServicePlan.resolve` is given its value."""
        return f"{self.resource}.{self.attribute}"

    @property
    def placeholder(self) -> str:
        """The placeholder as it appears in the plan: ``${queue.workflow.url}``."""
        return "${" + self.key + "}"

    def __str__(self) -> str:
        return self.placeholder


def find_references(text: str) -> list[Reference]:
    """Return the references in ``text``, in order of appearance (repeats kept)."""
    return [Reference(resource=m[1], attribute=m[2]) for m in _PLACEHOLDER.finditer(text)]


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Replace each placeholder in ``text`` with its value from ``values``.

    Args:
        text: A plan string.
        values: Values by :attr:`Reference.key` (``"queue.workflow.url"``).

    Raises:
        PlanError: A placeholder has no value; the message lists every missing key.
    """
    missing = sorted({r.key for r in find_references(text) if r.key not in values})
    if missing:
        raise PlanError(f"no value for {', '.join(missing)} (in {text!r})")
    return _PLACEHOLDER.sub(lambda m: values[f"{m[1]}.{m[2]}"], text)


def kind_of(resource: str) -> str:
    """Return the type part of a plan id: ``queue`` for ``queue.task.x``."""
    return resource.partition(".")[0]


def check_references(references: Iterable[Reference], resource_ids: Iterable[str]) -> None:
    """Raise :class:`PlanError` when a reference names no resource or no attribute of it."""
    known = {*resource_ids, PSEUDO_RESOURCE}
    for reference in references:
        if reference.resource not in known:
            raise PlanError(f"{reference} names no resource of the plan")
        if reference.attribute not in ATTRIBUTES.get(kind_of(reference.resource), ()):
            raise PlanError(f"{reference}: a {kind_of(reference.resource)} has no such attribute")
