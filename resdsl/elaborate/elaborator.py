"""AST -> IR graph: resolve names, bind parameters, expand blocks, stages, loops and residuals.

Shapes are inferred as each op is created (a transition's width or a B shortcut's projection depends on
the shape that reaches it), so every error here can name the stage and layer where it happens and
point at the line of the user's spec that asked for it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Iterator

from resdsl import limits
from resdsl.ir.shapes import ShapeProblem
from resdsl.diagnostics import (LimitError, NameResolutionError, ResdslError, ShapeError, SourceSpan,
                                SpecSyntaxError, UsageError, did_you_mean)
from resdsl.elaborate.builder import GraphBuilder
from resdsl.elaborate.block_calls import block_call
from resdsl.elaborate.loader import Program
from resdsl.elaborate.primitives import PRIMITIVES, REQUIRED, ArgProblem, Primitive, drop_path_mode
from resdsl.elaborate.resolve import unknown_name_error
from resdsl.elaborate.state import BudgetLimit, DepthSchedule, ElaborationState
from resdsl.elaborate.binding import bind
from resdsl.elaborate.heads import aux_head, output_order, outputs_statement
from resdsl.elaborate.init_rules import section_rules
from resdsl.elaborate.values import Dims, Env, Evaluator, Function, Parts, Symbol, TensorRef, show, type_name
from resdsl.elaborate.work import WorkBudget
from resdsl.ir import ops
from resdsl.ir.names import label_problem
from resdsl.ir.graph import Graph
from resdsl.ir.types import TensorType
from resdsl.syntax import ast

SHORTCUT_KINDS = ("A", "B", "C", "none", "gated")
# A residual's shortcut policy, as words its block may set, and their defaults (torchvision's names).
_POLICY_WORDS = {"proj_name": "downsample", "gate_name": "gate", "proj": "conv"}
_PROJECTION_FORMS = ("conv", "avgpool")
BUDGET_METRICS = ("params", "macs", "flops", "activations")
RESERVED_LABELS = {"in"}


@dataclass(frozen=True)
class Elaborated:
    """What elaboration yields: the typed graph plus the network-level declarations."""

    graph: Graph
    budgets: tuple[BudgetLimit, ...]
    parameters: tuple[tuple[str, Any], ...]
    span: SourceSpan
    init_rules: tuple[Any, ...] = ()  # the network's `init` rules (resdsl.elaborate.init_rules.Rule)


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


class Elaborator:
    def __init__(self, program: Program, reuse_expansions: bool = True):
        self.program = program
        self.reuse_expansions = reuse_expansions
        self.work = WorkBudget()
        self.globals = Env({name: Function(d) for name, d in program.functions.items()}, budget=self.work)
        self.stage_counts: dict[str, int] = {}
        self.state = ElaborationState()  # replaced by a fresh one for each network

    # ---- networks ----------------------------------------------------------------------------

    def network(self, name: str, overrides: dict[str, Any] | None = None,
                override_span: SourceSpan | None = None,
                input_shape: tuple[int, int, int] | None = None,
                budget: WorkBudget | None = None) -> Elaborated:
        """Elaborate network `name`; `overrides` replace parameters, `input_shape` the input line.
        `budget` is shared work (a table's rows draw on one); by default the network gets a fresh one."""
        overrides = dict(overrides or {})
        self.state = ElaborationState(input_override=input_shape)
        self.work = budget if budget is not None else WorkBudget()
        self.globals = Env({name: Function(d) for name, d in self.program.functions.items()}, budget=self.work)
        self.stage_counts = {}
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
            raise ShapeError("the input is given twice", inputs[1].span, "keep one `input` line",
                             notes=[(inputs[0].span, "first given here")])
        input_stmt = inputs[0] if inputs else None
        if input_stmt is None:
            raise ShapeError(f"network {net.name} has no input shape", _header_span(net),
                             "add a line like `input 3x224x224`")
        shape = Evaluator(env, {}).eval(input_stmt.shape)
        if self.state.input_override is not None:
            shape = Dims(tuple(self.state.input_override))
        if not isinstance(shape, Dims) or len(shape.values) != 3 or min(shape.values) < 1:
            raise ShapeError(f"the input must be a size CxHxW like 3x224x224, got {show(shape)}",
                             input_stmt.shape.span)

        self.state.builder = GraphBuilder(net.name, net.span)
        self.state.budget_limits = []
        c, h, w = shape.values
        x = self._add(ops.Input((c, h, w)), [], 0, None, "input", input_stmt.span)
        frame = Frame(0, env, {"in": x}, stage="", stage_level=True)
        self.state.network_body = net.body
        out = self._body(net.body, frame, x)
        _no_parts(out, None)
        order = output_order(self.state.outputs, self.state.heads)
        graph = self.state.builder.freeze(out, tuple(self.state.heads), order)
        return Elaborated(graph, tuple(self.state.budget_limits), tuple(params), net.span,
                          tuple(self.state.init_rules))

    def _stochastic_depth(self, stmt: ast.StochasticDepth, env: Env) -> None:
        """`stochastic_depth p_L` (Huang et al. 2016: block l of L survives with 1 - l/L (1 - p_L)) or
        `stochastic_depth(drop=EXPR, mode=row)` with EXPR a drop probability in terms of `block` (0, 1,
        ... across the stages) and `blocks` (their number): torchvision's EfficientNet is
        `drop=0.2 * block / blocks`, ConvNeXt `drop=0.1 * block / (blocks - 1)`.  The schedule is
        computed here, from the stage rows that follow, before any of their blocks is expanded."""
        if self.state.residuals_seen:
            raise SpecSyntaxError("stochastic_depth must come before the residual blocks it applies to",
                                  stmt.span, "move it to the top of the network, after `input`")
        if self.state.depth is not None:
            raise SpecSyntaxError("stochastic_depth is given twice", stmt.span)
        drop = next((a for a in stmt.args if a.name == "drop"), None)
        params = (ast.Param(stmt.span, "p_L", None), ast.Param(stmt.span, "mode", None))
        args = self._bind_args(params, tuple(a for a in stmt.args if a.name != "drop"), Evaluator(env, {}),
                               stmt, "stochastic_depth", defaults={"p_L": None, "mode": Symbol("paper")})
        try:
            mode = drop_path_mode(args, "mode")
        except ArgProblem as problem:
            raise ShapeError(problem.message, _arg_span(stmt, "mode"), problem.hint) from None
        blocks = self._count_stage_blocks(stmt, env)
        value = args["p_L"]
        if (value is None) == (drop is None):
            raise SpecSyntaxError("stochastic_depth takes the survival of the last block (the paper's p_L) or "
                                  "drop=EXPR, a drop probability per block", stmt.span,
                                  "`stochastic_depth 0.5`, or `stochastic_depth(drop=0.2 * block / blocks, "
                                  "mode=row)` as torchvision's EfficientNet")
        if drop is None:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
                raise ShapeError(f"stochastic_depth takes the survival probability of the last block, "
                                 f"between 0 and 1; got {show(value)}", stmt.span,
                                 "the paper uses `stochastic_depth 0.5`")
            survivals = tuple(1.0 - l / blocks * (1.0 - float(value)) for l in range(1, blocks + 1))
        else:
            rates = [Evaluator(env.child({"block": i, "blocks": blocks}), {}).eval(drop.value) for i in range(blocks)]
            for i, rate in enumerate(rates):
                if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
                    raise ShapeError(f"drop gives block {i} of {blocks} the drop probability {show(rate)}; it must "
                                     f"be between 0 and 1", drop.span)
            survivals = tuple(1.0 - float(rate) for rate in rates)
        self.state.depth = DepthSchedule(survivals, mode, stmt.span)

    def _count_stage_blocks(self, stmt: ast.StochasticDepth, env: Env) -> int:
        """The blocks of the `stages` rows after `stmt` in the network, counted without expanding them:
        `let`s are evaluated on the way (one that needs a tensor is skipped), `if`s choose their branch."""
        after = (stmt.span.line, stmt.span.column)
        scratch = env.child()
        count = 0

        def walk(body: ast.Body) -> None:
            nonlocal count
            for s in body.statements:
                later = (s.span.line, s.span.column) > after
                if isinstance(s, ast.Let):
                    try:
                        scratch.define(s.name, Evaluator(scratch, {}).eval(s.value))
                    except ResdslError:
                        pass  # a value of the graph (`@stem.c`): not needed to count rows, or reported below
                elif isinstance(s, ast.Stages) and later:
                    for row in s.rows:
                        count += self._row_repeats(row, scratch, stmt)
                elif isinstance(s, ast.If):
                    chosen = self._choose(s, Frame(0, scratch, {}, ""))
                    if chosen is not None:
                        walk(chosen)
                elif isinstance(s, ast.For) and later and _has_stages(s.body):
                    raise SpecSyntaxError("stochastic_depth counts the blocks of the stages up front; stages "
                                          "inside a for loop cannot be counted", s.span,
                                          "write the stages out, or place `droppath` in the block")
                elif isinstance(s, ast.Chain):
                    for element in s.elements:
                        item = element.item if isinstance(element, ast.Labelled) else element
                        if isinstance(item, ast.Group):
                            walk(item.body)

        walk(self.state.network_body)
        return count

    def _row_repeats(self, row: ast.StageRow, env: Env, stmt) -> int:
        if row.repeats is None:
            return 1
        try:
            repeats = Evaluator(env, {}).eval(row.repeats)
        except ResdslError as err:
            raise SpecSyntaxError(f"stochastic_depth counts the stage blocks before building them, but this "
                                  f"row's repeat count cannot be known then: {err.message}", row.repeats.span,
                                  "compute the counts with `let` from the parameters") from None
        return repeats if isinstance(repeats, int) and not isinstance(repeats, bool) and repeats > 0 else 0

    def _budgets(self, stmt: ast.Budget, env: Env) -> None:
        for item in stmt.items:
            if item.metric not in BUDGET_METRICS:
                raise NameResolutionError(f"unknown budget '{item.metric}'", item.span,
                                          did_you_mean(item.metric, BUDGET_METRICS)
                                          or "budgets: " + ", ".join(BUDGET_METRICS))
            limit = Evaluator(env, {}).eval(item.limit)
            if isinstance(limit, bool) or not isinstance(limit, (int, float)) or limit <= 0:
                raise ShapeError(f"a budget limit must be a positive number, got {show(limit)}",
                                 item.limit.span, "write it like `params <= 25M`")
            self.state.budget_limits.append(BudgetLimit(item.metric, item.op, float(limit), item.span))

    # ---- bodies and statements -----------------------------------------------------------------

    def _body(self, body: ast.Body, frame: Frame, flow: TensorRef) -> TensorRef:
        for stmt in body.statements:
            self.work.step(stmt.span)
            flow = self._statement(stmt, frame, flow)
        return flow

    def _statement(self, stmt, frame: Frame, flow: TensorRef) -> TensorRef:
        if not isinstance(stmt, (ast.Chain, ast.Let, ast.Require)):
            _no_parts(flow, stmt)
        if isinstance(stmt, ast.Chain):
            return self._chain(stmt, frame, flow)
        if isinstance(stmt, ast.Let):
            if frame.env.defined_here(stmt.name):
                raise NameResolutionError(f"'{stmt.name}' is already defined here", stmt.span,
                                          "pick another name; values cannot be reassigned")
            frame.env.define(stmt.name, self._eval(stmt.value, frame))
            return flow
        if isinstance(stmt, ast.Require):
            if not Evaluator(frame.env, frame.tensors).truth(stmt.cond):
                values = ", ".join(f"{n}={show(v)}" for n, v in _mentioned(stmt.cond, frame.env))
                raise ShapeError((stmt.message or "a requirement is not met") + (f" (here {values})" if values else ""),
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
                raise SpecSyntaxError(f"`{_statement_word(stmt)}` belongs at the top of a network", stmt.span,
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
                raise ShapeError(f"a range bound must be a whole number, got {type_name(bound)}", expr.span)
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
        self.work.step(element.span)
        _no_parts(flow, element.item if isinstance(element, ast.Labelled) else element)
        label = None
        item = element
        if isinstance(element, ast.Labelled):
            label = self._label(element.label, frame)
            item = element.item
        if frame.stage_level and not stage_fixed:
            stage = label or self._unlabelled_stage(_item_word(item))
            frame = Frame(frame.scope, frame.env, frame.tensors, stage, stage_level=True)
            self._enter_stage(stage, flow)
        out = self._item(item, frame, flow, label)
        if label is not None:
            frame.tensors[label] = out
        return out

    def _unlabelled_stage(self, word: str) -> str:
        """Unlabelled top-level items report as `conv`, `conv_1`, ... in network order."""
        i = self.stage_counts.get(word, 0)  # where the last search for `word` ended: linear, not quadratic
        name = word if i == 0 else f"{word}_{i}"
        while name in self.state.stage_inputs:
            i += 1
            name = f"{word}_{i}"
        self.stage_counts[word] = i
        return name

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

    # ---- items ---------------------------------------------------------------------------------

    def _item(self, item, frame: Frame, flow: TensorRef, label: str | None) -> TensorRef:
        if isinstance(item, ast.Call):
            return self._call(item, frame, flow, label)
        if isinstance(item, ast.Group):
            if label is None:
                return self._body(item.body, frame, flow)
            scope = self.state.builder.new_scope(frame.scope, label, "group", None, frame.stage, item.span)
            inner = Frame(scope, frame.env, frame.tensors, frame.stage,
                          stage_level=frame.stage_level and _has_stage_statements(item.body))
            return self._body(item.body, inner, flow)
        if isinstance(item, ast.Merge):
            return self._merge(item, frame, flow, label)
        if isinstance(item, ast.Residual):
            return self._residual(item, frame, flow, label)
        if isinstance(item, ast.ValueItem):
            return Evaluator(frame.env, frame.tensors).tensor(item.name, item.span)
        raise AssertionError(f"unhandled item {type(item).__name__}")

    def _call(self, call: ast.Call, frame: Frame, flow: TensorRef, label: str | None) -> TensorRef:
        if call.name == "identity":
            if call.args:
                raise SpecSyntaxError("identity takes no arguments", call.span)
            return flow
        primitive = PRIMITIVES.get(call.name)
        if primitive is not None:
            return self._primitive(primitive, call, frame, flow, label)
        block = self.program.blocks.get(call.name)
        if block is not None:
            return self._block(block, call, call.args, frame, flow, label)
        raise unknown_name_error(call.name, call.name_span, self.program)

    def _primitive(self, primitive: Primitive, call: ast.Call, frame: Frame, flow: TensorRef,
                   label: str | None) -> TensorRef:
        params = tuple(ast.Param(call.span, name, None) for name, _ in primitive.params)
        args = self._bind_args(params, call.args, Evaluator(frame.env, frame.tensors), call, call.name,
                               defaults={n: d for n, d in primitive.params if d is not REQUIRED})
        try:
            op = primitive.build(args, flow.type)
        except ArgProblem as problem:
            span = _arg_span(call, problem.arg)
            raise self._located(ShapeError, problem.message, span, problem.hint, frame, label) from None
        if isinstance(op, tuple):  # split / chunk: one node per part, for the branches of the next merge
            if label is not None:
                raise SpecSyntaxError(f"{call.name} makes parts, not one value: it takes no label", call.span,
                                      "label the branches of the merge that follows instead")
            return Parts(tuple(self._add(part, [flow], frame.scope, None, frame.stage, call.span, frame)
                               for part in op), flow, call.span)
        return self._add(op, [flow], frame.scope, label, frame.stage, call.span, frame)

    def _block(self, block: ast.BlockDef, call: ast.Call, args: tuple[ast.Arg, ...], frame: Frame,
               flow: TensorRef, label: str | None, stage_kind: str = "block") -> TensorRef:
        self.work.step(call.span)
        if len(self.state.call_sites) >= limits.MAX_CALL_DEPTH:
            raise LimitError(f"blocks nest deeper than {limits.MAX_CALL_DEPTH} calls (does '{block.name}' "
                             "call itself?)", call.span, "blocks cannot be recursive")
        bound = self._bind_args(block.params, args, Evaluator(frame.env, frame.tensors), call,
                                f"block {block.name}", definition_env=self.globals)
        env = self.globals.child(bound)
        record = block_call(block, bound, args)
        key = None if block.inline or not self.reuse_expansions else _template_key(
            block.name, bound, flow.type, frame.stage, self.state.block_survival)
        if key is not None and key in self.state.templates:
            # An identical call was expanded before: replay it (the 10,000-block specs stay fast).
            try:
                out, drop_paths = self.state.builder.replay(self.state.templates[key], frame.scope, label, flow, frame.stage,
                                                     call.span, call=record)
            except LimitError as err:
                raise LimitError(err.message, call.span, err.hint) from None
            return out
        mark = self.state.builder.mark()
        if block.inline and label is None:
            inner = Frame(frame.scope, env, {"in": flow}, frame.stage)
        elif block.inline:  # a labelled group call is a scope of its own: `enc1: double_conv 64`
            scope = self.state.builder.new_scope(frame.scope, label, "group", block.name, frame.stage, call.span,
                                                 call=record)
            inner = Frame(scope, env, {"in": flow}, frame.stage)
        else:
            scope = self.state.builder.new_scope(frame.scope, label, stage_kind, block.name, frame.stage, call.span,
                                                 call=record)
            inner = Frame(scope, env, {"in": flow}, frame.stage)
        self.state.call_sites.append(call.span)
        try:
            out = self._body(block.body, inner, flow)
        except LimitError as err:  # a limit passed inside a prelude block: point at the user's call
            if err.span.file not in self.program.prelude_files or call.span.file in self.program.prelude_files:
                raise
            raise LimitError(err.message, call.span, err.hint,
                             notes=[(err.span, f"inside block {block.name}")]) from None
        except RecursionError:  # calls within calls, each deeply nested: refused at the call that overflowed
            raise LimitError(f"blocks and their nested bodies go too deep to elaborate here "
                             f"({len(self.state.call_sites)} block calls deep)", call.span,
                             "nest fewer braces, merges and residuals inside each other, or make the "
                             "recursion shallower") from None
        finally:
            self.state.call_sites.pop()
        if key is not None:
            self.state.templates[key] = self.state.builder.template(mark, inner.scope, flow, out)
        return out

    def _bind_args(self, params: tuple[ast.Param, ...], args: tuple[ast.Arg, ...], evaluator: Evaluator,
                   call, what: str, defaults: dict[str, Any] | None = None,
                   definition_env: Env | None = None) -> dict[str, Any]:
        """Bind positional then keyword arguments to parameters; defaults fill the rest."""
        return bind(params, args, evaluator.eval, what, getattr(call, "span", None),
                    scope=definition_env or Env(), evaluate_in=lambda env, e: Evaluator(env, {}).eval(e),
                    defaults=defaults)

    # ---- stages --------------------------------------------------------------------------------

    def _stages(self, stmt: ast.Stages, frame: Frame, flow: TensorRef) -> TensorRef:
        block = self.program.blocks.get(stmt.call.name)
        if block is None:
            known = set(self.program.blocks)
            raise NameResolutionError(f"unknown block '{stmt.call.name}'", stmt.call.name_span,
                                      did_you_mean(stmt.call.name, known) or
                                      "stages repeat a block: `stages basic shortcut=B { ... }`")
        param_names = {p.name for p in block.params}
        if not stmt.rows:
            raise ShapeError("these stages have no rows", stmt.span, "add rows like `layer1: 64 x3`")
        for row in stmt.rows:
            name = self._label(row.label, frame)
            repeats = 1 if row.repeats is None else self._eval(row.repeats, frame)
            if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
                raise ShapeError(f"a stage repeats its block a whole number of times (1 or more), "
                                 f"got {show(repeats)}", (row.repeats or row).span)
            if repeats > limits.MAX_REPEATS:
                raise LimitError(f"stage {name} repeats its block {repeats:,} times; the limit is "
                                 f"{limits.MAX_REPEATS:,}", row.repeats.span, "is that a typo?")
            stage = name if frame.stage_level else frame.stage
            self._enter_stage(stage, flow)
            scope = self.state.builder.new_scope(frame.scope, name, "stage", block.name, stage, row.span)
            inner = Frame(scope, frame.env, frame.tensors, stage)
            row_args = tuple(row.args)
            has_stride = any(a.name == "stride" for a in row_args)
            site = row.args[0].span if row.args else row.label.span
            rest_args = tuple(a for a in row_args if a.name != "stride")
            if has_stride and "stride" in param_names:
                rest_args += (ast.Arg(site, "stride", ast.Number(site, 1, "1")),)
            header = tuple(stmt.call.args)
            for i in range(repeats):
                args = (row_args if i == 0 else rest_args)
                merged = _merge_args(args, header)
                call = ast.Call(site, block.name, merged, stmt.call.name_span)
                before = len(self.state.builder.nodes)
                flow = self._stage_block(block, call, merged, inner, flow, stmt)
                if i == 1:
                    self._refuse_if_too_large(len(self.state.builder.nodes) - before, repeats - 2, f"stage {name}",
                                              row.repeats.span if row.repeats else row.span)
            frame.tensors[name] = flow
        return flow

    def _stage_block(self, block: ast.BlockDef, call: ast.Call, args: tuple[ast.Arg, ...], frame: Frame,
                     flow: TensorRef, stmt: ast.Stages) -> TensorRef:
        """One block of a stage row; under stochastic depth it takes the next survival of the schedule."""
        if self.state.depth is None:
            return self._block(block, call, args, frame, flow, None)
        if self.state.block_index >= len(self.state.depth.survivals):
            raise SpecSyntaxError(f"stochastic_depth counted {len(self.state.depth.survivals)} stage blocks up front, "
                                  "but there are more (stages inside a block?)", stmt.span,
                                  "place `droppath` in the block instead", notes=[(self.state.depth.span, "stated here")])
        outer = self.state.block_survival
        self.state.block_survival = self.state.depth.survivals[self.state.block_index]
        self.state.block_index += 1
        try:
            return self._block(block, call, args, frame, flow, None)
        finally:
            self.state.block_survival = outer

    def _refuse_if_too_large(self, per_block: int, remaining: int, stage: str, span: SourceSpan) -> None:
        """Refuse a stage that would pass the op limit before building it, not after."""
        expected = len(self.state.builder.nodes) + per_block * remaining
        if expected > limits.MAX_NODES:
            raise LimitError(f"{stage} would grow the network to about {expected:,} ops; the limit is "
                             f"{limits.MAX_NODES:,}", span, "reduce the repeats")

    def _enter_stage(self, stage: str, flow: TensorRef) -> None:
        if stage not in self.state.stage_inputs:
            self.state.stage_inputs[stage] = (flow.type, self.state.last_stage)
            self.state.last_stage = stage

    # ---- merges and residuals ------------------------------------------------------------------

    def _branches(self, body: ast.Body, frame: Frame, flow: TensorRef | Parts,
                  outs: list[TensorRef] | None = None) -> list[TensorRef]:
        """One output per branch line; after a split, branch i starts from part i."""
        outs = [] if outs is None else outs
        for stmt in body.statements:
            self.work.step(stmt.span)
            if isinstance(stmt, ast.Chain):
                start = flow
                if isinstance(flow, Parts):
                    if len(outs) == len(flow.refs):
                        raise ShapeError(f"this merge has more branches than the {len(flow.refs)} parts of the "
                                         f"split before it", stmt.span, "one branch per part")
                    start = flow.refs[len(outs)]
                outs.append(self._chain(stmt, frame, start))
            elif isinstance(stmt, ast.For):
                for env in self._iterations(stmt, frame):
                    self.work.step(stmt.span)
                    self._branches(stmt.body, frame.with_env(env), flow, outs)
            elif isinstance(stmt, ast.If):
                chosen = self._choose(stmt, frame)
                if chosen is not None:
                    self._branches(chosen, frame, flow, outs)
            elif isinstance(stmt, ast.Let):
                self._statement(stmt, frame, flow)
            else:
                raise SpecSyntaxError(f"`{_statement_word(stmt)}` cannot be a branch", stmt.span,
                                      "each line of add/concat/mul is one branch")
        return outs

    def _merge(self, merge: ast.Merge, frame: Frame, flow: TensorRef | Parts, label: str | None) -> TensorRef:
        branches = self._branches(merge.body, frame, flow)
        if isinstance(flow, Parts) and len(branches) != len(flow.refs):
            raise ShapeError(f"the split before this {merge.kind} makes {len(flow.refs)} parts, but it has "
                             f"{len(branches)} branch{'es' if len(branches) != 1 else ''}", merge.span,
                             "one branch per part, in order; `identity` passes a part on unchanged",
                             notes=[(flow.span, "the split is here")])
        if len(branches) < 2:
            raise ShapeError(f"{merge.kind} needs at least two branches, got {len(branches)}", merge.span,
                             "one branch per line; write `identity` for the value coming in")
        op = self._mean(merge, frame) if merge.kind == "mean" else \
            {"add": ops.Add, "concat": ops.Concat, "mul": ops.Mul}[merge.kind]()
        return self._add(op, branches, frame.scope, label, frame.stage, merge.span, frame)

    def _mean(self, merge: ast.Merge, frame: Frame) -> ops.Mean:
        """`mean drop=p { ... }`: FractalNet's join, with local drop-path probability p."""
        params = (ast.Param(merge.span, "drop", None),)
        args = self._bind_args(params, merge.args, Evaluator(frame.env, frame.tensors), merge, "mean",
                               defaults={"drop": 0})
        drop = args["drop"]
        if isinstance(drop, bool) or not isinstance(drop, (int, float)) or not 0 <= drop < 1:
            raise ShapeError(f"mean's drop is the probability of dropping an input, in [0, 1); got {show(drop)}",
                             _arg_span(merge, "drop"), "the FractalNet paper drops with p = 0.15")
        return ops.Mean(float(drop))

    def _residual(self, res: ast.Residual, frame: Frame, flow: TensorRef, label: str | None) -> TensorRef:
        """body(x) merged with a shortcut of x: A zero-pads, B projects where the shape changes, C always
        projects, gated is a highway gate, none drops the merge (a plain block).

        The shortcut's policy is data of the block that writes the residual: `proj_name` names the
        projection (torchvision's `downsample`, RegNet's `proj`), `proj` chooses its form (`conv`: a 1x1
        conv then BN; `avgpool`: ResNet-D's 2x2 average pool, then the 1x1 conv and BN; or the name of a
        block of the spec called as `block(out, stride=s)`), `proj_from` the tensor it reads, and
        `gate_name` names a highway gate."""
        words = {a.name: a for a in res.args if a.name in _POLICY_WORDS}
        late = tuple(a for a in res.args if a.name == "proj_from")
        params = tuple(ast.Param(res.span, n, None) for n in ("shortcut", "proj_bn", "gate_kernel"))
        args = self._bind_args(params, tuple(a for a in res.args if a.name != "proj_from" and a.name not in words),
                               Evaluator(frame.env, frame.tensors), res, "residual",
                               defaults={"shortcut": Symbol("B"), "proj_bn": True, "gate_kernel": 1})
        policy = {name: self._word(words[name], frame) if name in words else default
                  for name, default in _POLICY_WORDS.items()}
        kind = args["shortcut"]
        kind = kind.name if isinstance(kind, Symbol) else kind
        if kind not in SHORTCUT_KINDS:
            raise ShapeError(f"unknown shortcut kind {show(kind)}", _arg_span(res, "shortcut"),
                             "shortcut is one of A (zero-pad), B (projection where needed), "
                             "C (projection always), none, gated")
        form = policy["proj"]
        if form not in _PROJECTION_FORMS and form not in self.program.blocks:
            raise NameResolutionError(f"unknown projection form '{form}'", words["proj"].span,
                                      did_you_mean(form, set(_PROJECTION_FORMS) | set(self.program.blocks)) or
                                      "proj is conv (1x1 conv + BN), avgpool (ResNet-D: 2x2 avg pool, 1x1 conv, "
                                      "BN) or the name of a block taking (out, stride)")
        self.state.residuals_seen += 1
        main = self._body(res.body, frame, flow)
        if kind == "none":
            return main
        if self.state.depth is not None:
            if self.state.block_survival is None:
                raise SpecSyntaxError("stochastic_depth drops the residuals of the blocks of `stages` rows; this "
                                      "residual is outside them", res.span,
                                      "put it in a stage, or place `droppath p` on its branch yourself",
                                      notes=[(self.state.depth.span, "stochastic_depth is stated here")])
            main = self._add(ops.DropPath(self.state.block_survival, self.state.depth.mode), [main], frame.scope,
                             self._free_label(frame, "drop_path"), frame.stage, res.span, frame)
        # The projection may tap a tensor of the body (pre-activation nets project the activated input).
        project_from = Evaluator(frame.env, frame.tensors).eval(late[0].value) if late else flow
        if not isinstance(project_from, TensorRef):
            raise ShapeError(f"proj_from takes a tensor like @relu1, got {type_name(project_from)}", late[0].span)
        x, y = flow.type, main.type
        same = x.shape == y.shape
        if kind == "gated":
            if not same:
                raise self._located(ShapeError, f"a gated (highway) shortcut needs the body to keep the "
                                    f"shape, but it maps {x} to {y}", res.span, "highway layers keep width "
                                    "and map size; put the change in a separate layer", frame, label)
            kernel = _as_pair(args["gate_kernel"], _arg_span(res, "gate_kernel"))
            pad = ((kernel[0] - 1) // 2, (kernel[1] - 1) // 2)
            gate_name = policy["gate_name"]
            gate = self._add(ops.Conv(x.channels, x.channels, kernel, padding=pad, bias=True), [flow],
                             frame.scope, gate_name, frame.stage, res.span, frame)
            gate = self._add(ops.Activation("sigmoid"), [gate], frame.scope, f"{gate_name}_act", frame.stage,
                             res.span, frame)
            return self._add(ops.GatedSum(), [main, flow, gate], frame.scope, label, frame.stage, res.span,
                             frame)
        if kind == "A" and not same:
            shortcut = self._add(ops.ZeroPadShortcut(x.channels, y.channels, _stride_between(x, y, res.span)),
                                 [flow], frame.scope, None, frame.stage, res.span, frame)
        elif kind == "C" or (kind == "B" and not same):
            shortcut = self._projection(project_from, y, args["proj_bn"], frame, res.span, policy)
        else:
            shortcut = flow
        return self._add(ops.Add(), [main, shortcut], frame.scope, label, frame.stage, res.span, frame)

    def _word(self, arg: ast.Arg, frame: Frame) -> str:
        """A policy word: `proj_name=proj` (a bare word not defined as a variable), or a string/variable."""
        if isinstance(arg.value, ast.Name) and not frame.env.lookup(arg.value.name)[0]:
            return arg.value.name
        value = Evaluator(frame.env, frame.tensors).eval(arg.value)
        if isinstance(value, Symbol):
            return value.name
        if not isinstance(value, str) or not value:
            raise ShapeError(f"{arg.name} takes a name, got {type_name(value)}", arg.span)
        return value

    def _projection(self, x: TensorRef, target: TensorType, with_bn: bool, frame: Frame,
                    span: SourceSpan, policy: dict[str, str]) -> TensorRef:
        """The projection shortcut, a scope named `proj_name` (torchvision's `downsample`): a 1x1 conv
        (child 0) and BN (child 1); with proj=avgpool (ResNet-D, timm's avg_down) first a 2x2 average
        pool where the stride is 2 (child 0, then the conv and BN); or a block of the spec."""
        if not target.is_image:
            raise ShapeError("a projection shortcut needs a feature map", span)
        stride = _stride_between(x.type, target, span)
        name = self._free_label(frame, policy["proj_name"])
        form = policy["proj"]
        if form not in _PROJECTION_FORMS:
            return self._projection_block(self.program.blocks[form], x, target, stride, name, frame, span)
        scope = self.state.builder.new_scope(frame.scope, name, "group", None, frame.stage, span)
        if form == "avgpool" and stride != (1, 1):
            x = self._add(ops.Pool("avg", stride, stride, (0, 0), ceil_mode=True, count_include_pad=False), [x],
                          scope, None, frame.stage, span, frame)
            stride = (1, 1)
        out = self._add(ops.Conv(x.type.channels, target.channels, (1, 1), stride), [x], scope, None,
                        frame.stage, span, frame)
        if with_bn:
            out = self._add(ops.BatchNorm(target.channels), [out], scope, None, frame.stage, span, frame)
        return out

    def _projection_block(self, block: ast.BlockDef, x: TensorRef, target: TensorType, stride: tuple[int, int],
                          name: str, frame: Frame, span: SourceSpan) -> TensorRef:
        """`proj=my_projection`: the spec's own block, called as `my_projection(out, stride=s)`."""
        s = stride[0] if stride[0] == stride[1] else None
        stride_expr = ast.Number(span, s, str(s)) if s is not None else ast.DimsLit(span, stride)
        args = (ast.Arg(span, None, ast.Number(span, target.channels, str(target.channels))),
                ast.Arg(span, "stride", stride_expr))
        call = ast.Call(span, block.name, args, span)
        out = self._block(block, call, args, frame, x, name)
        if out.type != target:
            raise self._located(ShapeError, f"the projection block {block.name} maps {x.type} to {out.type}, but "
                                f"the residual needs {target}", span, "it is called as "
                                f"{block.name}(out, stride=s) and must honour both", frame, name)
        return out

    def _free_label(self, frame: Frame, base: str) -> str:
        names = self.state.builder.scopes[frame.scope].names
        label, i = base, 1
        while label in names:
            label, i = f"{base}_{i}", i + 1
        return label

    # ---- nodes and errors ----------------------------------------------------------------------

    def _add(self, op: ops.Op, inputs: list[TensorRef], scope: int, label: str | None, stage: str,
             span: SourceSpan, frame: Frame | None = None) -> TensorRef:
        try:
            return self.state.builder.add(op, inputs, scope, label, stage, span)
        except LimitError as err:
            raise self._located(LimitError, err.message, span, err.hint, frame, label) from None
        except ShapeProblem as problem:
            layer = f"{self.state.builder.scope_path(scope)}.{label or op.kind}".lstrip(".")
            hint = problem.hint
            entry = self.state.stage_inputs.get(stage)
            if hint and inputs and entry and entry[1] and inputs[0].type == entry[0] and "here)" in hint:
                hint = hint.replace("here)", f"after {entry[1]})")
            raise self._located(ShapeError, problem.message, span, hint, frame, label, layer=layer) from None

    def _located(self, cls, message: str, span: SourceSpan, hint: str | None, frame: Frame | None,
                 label: str | None, layer: str | None = None) -> ResdslError:
        """Point at the user's own line.  Inside a prelude block that is the innermost call site in
        their file (with a note at the prelude line); inside their own block, the op itself (with a
        note at the call site)."""
        notes = []
        user_span = span
        user_sites = [s for s in self.state.call_sites if s.file not in self.program.prelude_files]
        if span.file in self.program.prelude_files:
            if user_sites:
                user_span = user_sites[-1]
            notes.append((span, f"in layer {layer}" if layer else "inside this block"))
        elif user_sites:
            notes.append((user_sites[-1], "called from here"))
        if layer:
            message = f"{message} (layer {layer})"
        stage = frame.stage if frame else ""
        if stage and any(s.scope.kind == "stage" and s.scope.stage == stage for s in self.state.builder.scopes):
            message = f"stage {stage}: {message}"
        return cls(message, user_span, hint, notes=notes)

    def _eval(self, expr: ast.Expr, frame: Frame) -> Any:
        return Evaluator(frame.env, frame.tensors).eval(expr)


# ---- helpers ---------------------------------------------------------------------------------


def _template_key(block: str, bound: dict[str, Any], input_type: TensorType, stage: str,
                  survival: float | None) -> tuple | None:
    """What a block expansion depends on; None when an argument cannot be compared (a list, say)."""
    key = (block, tuple(bound.items()), input_type, stage, survival)
    try:
        hash(key)
    except TypeError:
        return None
    return key


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


def _no_parts(flow, item) -> None:
    """The parts of a split go only into the merge right after it."""
    if isinstance(flow, Parts) and not isinstance(item, ast.Merge):
        raise ShapeError("the parts of a split feed the branches of a merge, which must come next",
                         getattr(item, "span", flow.span), "follow the split with `concat { ... }` (or add/mul), "
                         "one branch per part", notes=[(flow.span, "the split is here")] if item is not None else ())


def _merge_args(row: tuple[ast.Arg, ...], header: tuple[ast.Arg, ...]) -> tuple[ast.Arg, ...]:
    """A stage row's arguments come first; the header's keywords fill what the row leaves out."""
    given = {a.name for a in row if a.name is not None}
    return tuple(row) + tuple(a for a in header if a.name is None or a.name not in given)


def _stride_between(x: TensorType, y: TensorType, span: SourceSpan) -> tuple[int, int]:
    def one(a: int, b: int) -> int:
        s = max(1, -(-a // b))
        if (a - 1) // s + 1 != b:
            raise ShapeError(f"no 1x1 shortcut with a whole stride maps a {x} tensor to {y}", span,
                             "the body must keep the map size or divide it by a whole stride")
        return s
    return (one(x.height, y.height), one(x.width, y.width))


def _as_pair(value: Any, span: SourceSpan) -> tuple[int, int]:
    if isinstance(value, Dims) and len(value.values) == 2:
        return value.values  # type: ignore[return-value]
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return (value, value)
    raise ShapeError(f"expected a size like 3x3, got {show(value)}", span)


def _interpolate(template: str, env: Env, span: SourceSpan) -> str:
    import re

    def sub(match: "re.Match[str]") -> str:
        name, offset = match.group(1), match.group(2)
        found, value = env.lookup(name)
        if not found:
            raise NameResolutionError(f"unknown name '{name}' in the label {template}", span,
                                      did_you_mean(name, env.names()))
        if isinstance(value, bool) or not isinstance(value, int):
            raise ShapeError(f"a label can only interpolate whole numbers; '{name}' is {type_name(value)}", span)
        return str(value + int(offset.replace(" ", "")) if offset else value)

    return re.sub(r"\{([A-Za-z_]\w*)([+-]\d+)?\}", sub, template)


def _has_stages(body: ast.Body) -> bool:
    """Whether `stages` appear anywhere in `body` (inside ifs, loops and groups too)."""
    for s in body.statements:
        if isinstance(s, ast.Stages):
            return True
        if isinstance(s, (ast.For,)) and _has_stages(s.body):
            return True
        if isinstance(s, ast.If) and (_has_stages(s.then) or (isinstance(s.otherwise, ast.Body) and _has_stages(s.otherwise))
                                      or (isinstance(s.otherwise, ast.If) and _has_stages(ast.Body(s.span, (s.otherwise,))))):
            return True
        if isinstance(s, ast.Chain):
            for e in s.elements:
                item = e.item if isinstance(e, ast.Labelled) else e
                if isinstance(item, ast.Group) and _has_stages(item.body):
                    return True
    return False


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


def _statement_word(stmt) -> str:
    return {ast.InputStmt: "input", ast.Budget: "budget", ast.StochasticDepth: "stochastic_depth",
            ast.AuxHead: "aux", ast.Outputs: "outputs", ast.Section: "stem/head", ast.Stages: "stages"}.get(type(stmt), type(stmt).__name__.lower())


def _header_span(net) -> SourceSpan:
    s = net.span
    return SourceSpan(s.file, s.line, s.column, s.line, s.column + len("network ") + len(net.name))


def _params_span(net) -> SourceSpan:
    if net.params:
        first, last = net.params[0].span, net.params[-1].span
        return SourceSpan(first.file, first.line, first.column, last.end_line, last.end_column)
    return _header_span(net)


def _arg_span(call, name: str | None) -> SourceSpan:
    for arg in getattr(call, "args", ()):
        if arg.name == name:
            return arg.span
    return call.span
