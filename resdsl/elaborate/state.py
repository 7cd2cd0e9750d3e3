"""The state of one elaboration: everything that belongs to one network being built.

An `Elaborator` holds the program and its global scope; each `network()` call starts a fresh
`ElaborationState`, so elaborating two networks with one elaborator gives what two fresh ones would.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from resdsl.analysis.budgets import BudgetLimit  # defined there: a cached network needs no elaborator
from resdsl.diagnostics import SourceSpan
from resdsl.elaborate.values import Env, TensorRef
from resdsl.elaborate.work import WorkBudget
from resdsl.ir.heads import AuxHead
from resdsl.ir.types import TensorType
from resdsl.syntax import ast

if TYPE_CHECKING:
    from resdsl.elaborate.builder import GraphBuilder


@dataclass(frozen=True)
class DepthSchedule:
    """Stochastic depth, computed before any block is expanded: the survival probability of every
    block of the network's `stages` rows, in order, and the convention of the drop."""

    survivals: tuple[float, ...]
    mode: str
    span: SourceSpan


@dataclass
class Frame:
    """Where elaboration is: the scope items land in, variables, labelled tensors, the stage."""

    scope: int
    env: Env
    tensors: dict[str, TensorRef]
    stage: str
    stage_level: bool = False

    def with_env(self, env: Env) -> "Frame":
        return Frame(self.scope, env, self.tensors, self.stage, self.stage_level)


@dataclass
class ElaborationState:
    work: WorkBudget                        # the work budget of this network (values.Env shares it)
    globals: Env                            # the spec's `def` functions, the root of every scope
    function_defs: tuple = ()               # their definitions (ast.FuncDef), as block calls record them
    input_override: tuple[int, int, int] | None = None
    builder: "GraphBuilder | None" = None
    network_body: ast.Body | None = None
    call_sites: list[SourceSpan] = field(default_factory=list)       # block calls being expanded
    stage_inputs: dict[str, tuple[TensorType, str | None]] = field(default_factory=dict)
    last_stage: str | None = None
    templates: dict[tuple, Any] = field(default_factory=dict)        # block expansions to replay
    built_ops: dict[tuple, Any] = field(default_factory=dict)        # primitive calls -> their op
    made_ops: dict[tuple, Any] = field(default_factory=dict)         # ops the elaborator makes itself
    depth: DepthSchedule | None = None      # stochastic depth: one survival per stage block
    block_index: int = 0                    # the next stage block's position in the schedule
    block_survival: float | None = None     # of the stage block being expanded
    residuals_seen: int = 0
    budget_limits: list[BudgetLimit] = field(default_factory=list)
    init_rules: list[Any] = field(default_factory=list)  # the network's init rules (elaborate/init_rules)
    heads: list[AuxHead] = field(default_factory=list)   # aux heads, in declaration order
    outputs: ast.Outputs | None = None                    # the `outputs` statement, if any
    stage_counts: dict[str, int] = field(default_factory=dict)  # unlabelled top-level items per word
