"""Options of the component that change what the plan says about a function."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

__all__ = ["FunctionOverrides"]


@attrs.frozen(kw_only=True)
class FunctionOverrides:
    """Changes to one function of the plan, for what a definition's options do not say.

    Timeouts are not overridable: the plan sizes each queue's visibility timeout
    from its consumer's timeout, so they change together through ``@task(timeout=)``,
    ``@subscription(timeout=)`` and ``@command(timeout=)``.

    Attributes:
        memory_mb: Memory in MB (128 to 10,240), instead of the plan's.
        reserved_concurrency: Reserved concurrent executions, instead of the plan's.
        environment: More environment variables; names starting with
            ``EVENTUAL_`` belong to the plan and are refused.
        layers: ARNs of Lambda layers to add.
    """

    memory_mb: int | None = None
    reserved_concurrency: int | None = None
    environment: Mapping[str, str] = attrs.field(factory=dict)
    layers: tuple[str, ...] = ()

    def __attrs_post_init__(self) -> None:
        if self.memory_mb is not None and not 128 <= self.memory_mb <= 10_240:
            raise ValueError(
                f"memory_mb={self.memory_mb} is not a Lambda memory size (128 to 10240 MB)"
            )
        if self.reserved_concurrency is not None and self.reserved_concurrency < 0:
            raise ValueError(f"reserved_concurrency={self.reserved_concurrency} is negative")
        taken = sorted(n for n in self.environment if n.startswith("EVENTUAL_"))
        if taken:
            raise ValueError(
                f"environment variables {', '.join(taken)} belong to the plan; "
                "choose names without the EVENTUAL_ prefix"
            )
