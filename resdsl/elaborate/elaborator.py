"""AST -> IR graph: resolve names, bind parameters, expand blocks, stages, loops and residuals.

Shapes are inferred as each op is created (a transition's width or a B shortcut's projection depends on
the shape that reaches it), so every error here can name the stage and layer where it happens and
point at the line of the user's spec that asked for it.

`Elaborator` composes one mixin per concern (see core.py); this module elaborates a network's header:
its parameters, input and budgets.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from resdsl.diagnostics import (ArgumentError, NameResolutionError, SourceSpan, StructureError, UsageError,
                                did_you_mean)
from resdsl.elaborate.builder import GraphBuilder
from resdsl.elaborate.calls import Calls
from resdsl.elaborate.core import no_parts
from resdsl.elaborate.depth import StochasticDepth
from resdsl.elaborate.heads import output_order
from resdsl.elaborate.merges import Merges
from resdsl.elaborate.residuals import Residuals
from resdsl.elaborate.stages import Stages
from resdsl.elaborate.state import BudgetLimit, Frame
from resdsl.elaborate.statements import Statements
from resdsl.elaborate.values import Dims, Env, Evaluator, show
from resdsl.elaborate.work import WorkBudget
from resdsl.ir import ops
from resdsl.ir.graph import Graph
from resdsl.syntax import ast

BUDGET_METRICS = ("params", "macs", "flops", "activations")


@dataclass(frozen=True)
class Elaborated:
    """What elaboration yields: the typed graph plus the network-level declarations."""

    graph: Graph
    budgets: tuple[BudgetLimit, ...]
    parameters: tuple[tuple[str, Any], ...]
    span: SourceSpan
    init_rules: tuple[Any, ...] = ()  # the network's `init` rules (resdsl.elaborate.init_rules.Rule)


class Elaborator(Statements, Calls, Stages, StochasticDepth, Merges, Residuals):
    """Elaborates the networks of one program; each `network()` call starts from a fresh state."""

    def network(self, name: str, overrides: dict[str, Any] | None = None,
                override_span: SourceSpan | None = None,
                input_shape: tuple[int, int, int] | None = None,
                budget: WorkBudget | None = None) -> Elaborated:
        """Elaborate network `name`; `overrides` replace parameters, `input_shape` the input line.
        `budget` is shared work (a table's rows draw on one); by default the network gets a fresh one."""
        overrides = dict(overrides or {})
        self.state = self._fresh_state(input_shape, budget)
        try:
            return self._network(name, overrides, override_span)
        finally:
            # The graph is frozen: let the builder, the templates and the op tables go before the caller
            # verifies and counts it (for a network of distinct blocks they are as large as the graph).
            self.state = self._spent_state(self.state)

    def _network(self, name: str, overrides: dict[str, Any], override_span: SourceSpan | None) -> Elaborated:
        definition = self.program.networks[name]
        if isinstance(definition, ast.NetworkAlias):
            target = definition.target
            family = self.program.networks.get(target.name)
            if family is None or isinstance(family, ast.NetworkAlias):
                raise NameResolutionError(
                    f"unknown network family '{target.name}'", target.name_span,
                    did_you_mean(target.name, self.program.networks) or "define it or import its file")
            bound = self._bind_args(family.params, target.args, Evaluator(self.globals, {}), target,
                                    f"network {family.name}")
            bound.update(overrides)
            result = self._network_def(family, bound, override_span, explicit=set(bound))
            return replace(result, graph=replace(result.graph, name=definition.name))
        return self._network_def(definition, overrides, override_span, explicit=set())

    def _network_def(self, net: ast.NetworkDef, overrides: dict[str, Any], override_span: SourceSpan | None,
                     explicit: set[str]) -> Elaborated:
        known = {p.name for p in net.params}
        for key in overrides:
            if key not in known:
                hint = did_you_mean(key, known)
                listed = ", ".join(sorted(known)) if known else "none"
                raise UsageError(f"network {net.name} has no parameter '{key}' (overridden with "
                                 f"{key}={show(overrides[key])})", override_span or _params_span(net),
                                 hint or f"its parameters are: {listed}")
        env = self.globals.child()
        params: list[tuple[str, Any]] = []
        for p in net.params:
            if p.name in overrides:
                value = overrides[p.name]
            elif p.default is not None:
                value = Evaluator(env, {}).eval(p.default)
            else:
                raise UsageError(f"network {net.name} needs a value for its parameter '{p.name}'", p.span,
                                 f"give a default (`{p.name}=...`) or pass --set {p.name}=...")
            env.define(p.name, value)
            params.append((p.name, value))

        inputs = [s for s in net.body.statements if isinstance(s, ast.InputStmt)]
        if len(inputs) > 1:
            raise StructureError("the input is given twice", inputs[1].span, "keep one `input` line",
                             notes=[(inputs[0].span, "first given here")])
        input_stmt = inputs[0] if inputs else None
        if input_stmt is None:
            raise StructureError(f"network {net.name} has no input shape", _header_span(net),
                             "add a line like `input 3x224x224`")
        shape = Evaluator(env, {}).eval(input_stmt.shape)
        if self.state.input_override is not None:
            shape = Dims(tuple(self.state.input_override))
        if not isinstance(shape, Dims) or len(shape.values) != 3 or min(shape.values) < 1:
            raise ArgumentError(f"the input must be a size CxHxW like 3x224x224, got {show(shape)}",
                             input_stmt.shape.span)

        self.state.builder = GraphBuilder(net.name, net.span)
        self.state.budget_limits = []
        c, h, w = shape.values
        x = self._add(ops.Input((c, h, w)), [], 0, None, "input", input_stmt.span)
        frame = Frame(0, env, {"in": x}, stage="", stage_level=True)
        self.state.network_body = net.body
        out = self._body(net.body, frame, x)
        no_parts(out, None)
        order = output_order(self.state.outputs, self.state.heads)
        graph = self.state.builder.freeze(out, tuple(self.state.heads), order)
        return Elaborated(graph, tuple(self.state.budget_limits), tuple(params), net.span,
                          tuple(self.state.init_rules))

    def _budgets(self, stmt: ast.Budget, env: Env) -> None:
        for item in stmt.items:
            if item.metric not in BUDGET_METRICS:
                raise NameResolutionError(f"unknown budget '{item.metric}'", item.span,
                                          did_you_mean(item.metric, BUDGET_METRICS)
                                          or "budgets: " + ", ".join(BUDGET_METRICS))
            limit = Evaluator(env, {}).eval(item.limit)
            if isinstance(limit, bool) or not isinstance(limit, (int, float)) or limit <= 0:
                raise ArgumentError(f"a budget limit must be a positive number, got {show(limit)}",
                                 item.limit.span, "write it like `params <= 25M`")
            self.state.budget_limits.append(BudgetLimit(item.metric, item.op, float(limit), item.span))


def _header_span(net) -> SourceSpan:
    s = net.span
    return SourceSpan(s.file, s.line, s.column, s.line, s.column + len("network ") + len(net.name))


def _params_span(net) -> SourceSpan:
    if net.params:
        first, last = net.params[0].span, net.params[-1].span
        return SourceSpan(first.file, first.line, first.column, last.end_line, last.end_column)
    return _header_span(net)
