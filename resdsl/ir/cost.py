"""The cost of one op application: what each op's `cost` method returns (conventions in
docs/counting.md and `resdsl.analysis.cost`)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)  # one per node: no __dict__ each
class OpCost:
    params: int = 0
    buffers: int = 0
    macs: int = 0
    elementwise: int = 0  # other work, reported under the op's element kind

    @property
    def flops(self) -> int:
        return 2 * self.macs


FREE = OpCost()
