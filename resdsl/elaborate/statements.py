"""Statements and chains: bodies, `let`, `require`, `for`, `if`, stem/head sections, labels and items."""
from __future__ import annotations

import re
from typing import Any, Iterator

from resdsl import limits
from resdsl.diagnostics import (EvaluationError, LimitError, NameResolutionError, RequirementError, SourceSpan,
                                SpecSyntaxError, did_you_mean)
from resdsl.elaborate.core import ElaboratorCore, no_parts
from resdsl.elaborate.heads import aux_head, outputs_statement
from resdsl.elaborate.init_rules import section_rules
from resdsl.elaborate.state import Frame
from resdsl.elaborate.values import Env, Evaluator, Parts, TensorRef, show, type_name
from resdsl.ir import ops
from resdsl.ir.names import label_problem
from resdsl.syntax import ast

RESERVED_LABELS = {"in"}


class Statements(ElaboratorCore):
    def _body(self, body: ast.Body, frame: Frame, flow: TensorRef) -> TensorRef:
        for stmt in body.statements:
            self.work.step(stmt.span)
            flow = self._statement(stmt, frame, flow)
        return flow

    def _statement(self, stmt, frame: Frame, flow: TensorRef) -> TensorRef:
        if isinstance(stmt, ast.Chain):  # by far the most common statement: first
            return self._chain(stmt, frame, flow)
        if not isinstance(stmt, (ast.Let, ast.Require)):
            no_parts(flow, stmt)
        if isinstance(stmt, ast.Let):
            if frame.env.defined_here(stmt.name):
                raise NameResolutionError(f"'{stmt.name}' is already defined here", stmt.span,
                                          "pick another name; values cannot be reassigned")
            frame.env.define(stmt.name, self._eval(stmt.value, frame))
            return flow
        if isinstance(stmt, ast.Require):
            if not Evaluator(frame.env, frame.tensors).truth(stmt.cond):
                values = ", ".join(f"{n}={show(v)}" for n, v in _mentioned(stmt.cond, frame.env))
                raise RequirementError((stmt.message or "a requirement is not met") + (f" (here {values})" if values else ""),
                                 stmt.span, "change the parameters (--set ...) to satisfy it")
            return flow
        if isinstance(stmt, ast.For):
            values = self._loop_range(stmt, frame)  # a range: each iteration's scope is made as it runs
            for i, value in enumerate(values):
                self.work.step(stmt.span)
                before = len(self.state.builder.nodes)
                flow = self._body(stmt.body, frame.with_env(frame.env.child({stmt.var: value})), flow)
                if i == 1:
                    self._refuse_if_too_large(len(self.state.builder.nodes) - before, len(values) - 2,
                                              "this loop", stmt.span)
            return flow
        if isinstance(stmt, ast.If):
            chosen = self._choose(stmt, frame)
            return self._body(chosen, frame, flow) if chosen is not None else flow
        if isinstance(stmt, ast.Section):
            stage = stmt.kind if frame.stage_level else frame.stage
            section = Frame(frame.scope, frame.env, frame.tensors, stage)
            return self._chain(stmt.chain, section, flow, stage_fixed=True)
        if isinstance(stmt, ast.Stages):
            return self._stages(stmt, frame, flow)
        if isinstance(stmt, ast.AuxHead):
            return aux_head(self, stmt, frame, flow)
        if isinstance(stmt, ast.Outputs):
            outputs_statement(self, stmt, frame)
            return flow
        if isinstance(stmt, ast.InitSection):  # a block's sections are read from its definition
            if frame.scope == 0 and frame.stage_level:
                self.state.init_rules.extend(section_rules(stmt, lambda e: self._eval(e, frame),
                                                           lambda name: frame.env.lookup(name)[0]))
            return flow
        if isinstance(stmt, (ast.InputStmt, ast.Budget, ast.StochasticDepth)):
            if frame.scope != 0 or not frame.stage_level:
                raise SpecSyntaxError(f"`{statement_word(stmt)}` belongs at the top of a network", stmt.span,
                                      "move it out of the block")
            if isinstance(stmt, ast.Budget):
                self._budgets(stmt, frame.env)
            elif isinstance(stmt, ast.StochasticDepth):
                self._stochastic_depth(stmt, frame.env)
            return flow
        raise AssertionError(f"unhandled statement {type(stmt).__name__}")

    def _iterations(self, stmt: ast.For, frame: Frame) -> Iterator[Env]:
        for i in self._loop_range(stmt, frame):
            yield frame.env.child({stmt.var: i})

    def _loop_range(self, stmt: ast.For, frame: Frame) -> range:
        start, end = self._eval(stmt.start, frame), self._eval(stmt.end, frame)
        for bound, expr in ((start, stmt.start), (end, stmt.end)):
            if isinstance(bound, bool) or not isinstance(bound, int):
                raise EvaluationError(f"a range bound must be a whole number, got {type_name(bound)}", expr.span)
        if end - start + 1 > limits.MAX_REPEATS:
            raise LimitError(f"this loop runs {end - start + 1:,} times; the limit is {limits.MAX_REPEATS:,}",
                             stmt.span)
        return range(start, end + 1)

    def _choose(self, stmt: ast.If, frame: Frame) -> ast.Body | None:
        if Evaluator(frame.env, frame.tensors).truth(stmt.cond):
            return stmt.then
        if isinstance(stmt.otherwise, ast.If):
            return self._choose(stmt.otherwise, frame)
        return stmt.otherwise

    def _chain(self, chain: ast.Chain, frame: Frame, flow: TensorRef, stage_fixed: bool = False) -> TensorRef:
        for element in chain.elements:
            flow = self._element(element, frame, flow, stage_fixed)
        return flow

    def _element(self, element, frame: Frame, flow: TensorRef, stage_fixed: bool = False) -> TensorRef:
        state = self.state
        state.work.step(element.span)
        if isinstance(flow, Parts):
            no_parts(flow, element.item if isinstance(element, ast.Labelled) else element)
        label = None
        item = element
        if isinstance(element, ast.Labelled):
            label = self._label(element.label, frame)
            item = element.item
        if frame.stage_level and not stage_fixed:
            stage = label or self._unlabelled_stage(_item_word(item))
            frame = Frame(frame.scope, frame.env, frame.tensors, stage, stage_level=True)
            self._enter_stage(stage, flow)
        mark = len(state.builder.nodes)
        out = self._item(item, frame, flow, label)
        if label is not None:
            frame.tensors[label] = out
            if isinstance(item, (ast.Call, ast.Group)) and len(state.builder.nodes) - mark > 1:
                self._expose_pools(frame, label, mark)
        return out

    def _expose_pools(self, frame: Frame, label: str, mark: int) -> None:
        """The max pools labelled inside a labelled block or group, as `@label.pool` for an unpool
        elsewhere (ENet's decoder unpools with the indices of encoder blocks' pools)."""
        prefix = self.state.builder.scope_path(frame.scope)
        prefix = f"{prefix}." if prefix else ""
        inside = f"{prefix}{label}."
        for node in self.state.builder.nodes[mark:]:
            if isinstance(node.op, ops.Pool) and node.op.mode == "max" and node.path.startswith(inside):
                frame.tensors.setdefault(node.path[len(prefix):], TensorRef(node.id, node.type))

    def _label(self, label: ast.Label, frame: Frame) -> str:
        text = label.template
        if "{" in text:
            text = _interpolate(text, frame.env, label.span)
        if text in RESERVED_LABELS:
            raise NameResolutionError(f"'{text}' is reserved (@in is the block's input)", label.span,
                                      "choose another label")
        problem = label_problem(text)
        if problem is not None:
            raise NameResolutionError(problem[0], label.span, problem[1])
        return text

    def _item(self, item, frame: Frame, flow: TensorRef, label: str | None) -> TensorRef:
        if isinstance(item, ast.Call):
            return self._call(item, frame, flow, label)
        if isinstance(item, ast.Group):
            if label is None:
                return self._body(item.body, frame, flow)
            scope = self.state.builder.new_scope(frame.scope, label, "group", None, frame.stage, item.span)
            inner = Frame(scope, frame.env, frame.tensors, frame.stage,
                          stage_level=frame.stage_level and _has_stage_statements(item.body))
            out = self._body(item.body, inner, flow)
            self.state.builder.close_scope(scope)
            return out
        if isinstance(item, ast.Merge):
            return self._merge(item, frame, flow, label)
        if isinstance(item, ast.Residual):
            return self._residual(item, frame, flow, label)
        if isinstance(item, ast.ValueItem):
            return Evaluator(frame.env, frame.tensors).tensor(item.name, item.span)
        raise AssertionError(f"unhandled item {type(item).__name__}")


def _mentioned(expr, env: Env) -> list[tuple[str, Any]]:
    """The variables a requirement mentions, with their values, for its error message."""
    names: dict[str, None] = {}

    def walk(node) -> None:
        if isinstance(node, ast.Name):
            names.setdefault(node.name, None)
        for value in vars(node).values() if hasattr(node, "__dataclass_fields__") else ():
            if isinstance(value, tuple):
                for v in value:
                    walk(v)
            elif hasattr(value, "__dataclass_fields__") and not isinstance(value, SourceSpan):
                walk(value)

    walk(expr)
    out = []
    for name in names:
        found, value = env.lookup(name)
        if found:
            out.append((name, value))
    return out


def _interpolate(template: str, env: Env, span: SourceSpan) -> str:
    import re

    def sub(match: "re.Match[str]") -> str:
        name, offset = match.group(1), match.group(2)
        found, value = env.lookup(name)
        if not found:
            raise NameResolutionError(f"unknown name '{name}' in the label {template}", span,
                                      did_you_mean(name, env.names()))
        if isinstance(value, bool) or not isinstance(value, int):
            raise EvaluationError(f"a label can only interpolate whole numbers; '{name}' is {type_name(value)}", span)
        return str(value + int(offset.replace(" ", "")) if offset else value)

    return re.sub(r"\{([A-Za-z_]\w*)([+-]\d+)?\}", sub, template)


def _has_stage_statements(body: ast.Body) -> bool:
    return any(isinstance(s, (ast.Section, ast.Stages)) for s in body.statements)


def _item_word(item) -> str:
    if isinstance(item, ast.Call):
        return item.name
    if isinstance(item, ast.Merge):
        return item.kind
    if isinstance(item, ast.Residual):
        return "residual"
    return "group"


def statement_word(stmt) -> str:
    return {ast.InputStmt: "input", ast.Budget: "budget", ast.StochasticDepth: "stochastic_depth",
            ast.AuxHead: "aux", ast.Outputs: "outputs", ast.Section: "stem/head",
            ast.Stages: "stages"}.get(type(stmt), type(stmt).__name__.lower())
