"""The checked network: the typed IR graph with every analysis result attached.

This is what `resdsl.load` returns and what every back end reads; back ends never recompute a shape
or a count.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from resdsl.analysis.budgets import BudgetResult
from resdsl.analysis.cost import OpCost, Totals
from resdsl.analysis.memory import ActivationMemory
from resdsl.ir.graph import Graph
from resdsl.ir.init import InitPlan
from resdsl.ir.types import TensorType


@dataclass(frozen=True)
class Network:
    graph: Graph
    costs: tuple[OpCost, ...]          # aligned with graph.nodes
    totals: Totals
    memory: ActivationMemory
    budgets: tuple[BudgetResult, ...]
    parameters: tuple[tuple[str, Any], ...]
    source: str                        # the spec file (or "<string>")
    inputs: tuple[str, ...] = ()       # every file read to make it (resolved): never an output
    init: InitPlan = InitPlan()        # how its weights start (the spec's `init` rules, resolved)
    overridden: tuple[str, ...] = ()   # the parameters the caller set (--set, keyword arguments)

    @property
    def name(self) -> str:
        return self.graph.name

    @property
    def title(self) -> str:
        """The name, with the parameters the caller set: `resnet20 (depth=56)` is not `resnet20`."""
        if not self.overridden:  # a warm `count` of a plain spec imports nothing of the elaborator
            return self.name
        from resdsl.elaborate.values import show

        shown = ", ".join(f"{k}={show(v)}" for k, v in self.parameters if k in self.overridden)
        return f"{self.name} ({shown})" if shown else self.name

    @property
    def member_name(self) -> str:
        """A name for the member of the family: `resnet20_depth56` for resnet20 with depth=56."""
        if not self.overridden:
            return self.name
        from resdsl.elaborate.values import show

        parts = [f"{k}{show(v)}" for k, v in self.parameters if k in self.overridden]
        return "_".join([self.name, *parts])

    @property
    def input_type(self) -> TensorType:
        return self.graph.input_type

    @property
    def output_type(self) -> TensorType:
        return self.graph.output_type

    @property
    def params(self) -> int:
        return self.totals.params

    @property
    def macs(self) -> int:
        return self.totals.macs

    @property
    def flops(self) -> int:
        return self.totals.flops

    def summary(self, by: str = "layer", batch: int = 1):
        """Per-layer table (path, op, output shape, params, MACs) with totals and conventions: what
        `resdsl count --by layer` prints.  `by` may also be "stage", "block" or "op"."""
        from resdsl.display import summary

        return summary(self, by, batch)

    def __repr__(self) -> str:
        from resdsl.display import one_line

        return one_line(self)

    def _repr_svg_(self) -> str | None:
        from resdsl.display import svg

        return svg(self)

    def _repr_markdown_(self) -> str:
        from resdsl.display import markdown

        return markdown(self)

    @cached_property
    def by_stage(self) -> dict[str, OpCost]:
        """Params / buffers / MACs / element-wise work summed per stage, in stage order."""
        sums: dict[str, list[int]] = {stage: [0, 0, 0, 0] for stage in self.graph.stages}
        for node, cost in zip(self.graph.nodes[1:], self.costs[1:]):
            row = sums[node.stage]
            row[0] += cost.params
            row[1] += cost.buffers
            row[2] += cost.macs
            row[3] += cost.elementwise
        return {stage: OpCost(*row) for stage, row in sums.items()}
