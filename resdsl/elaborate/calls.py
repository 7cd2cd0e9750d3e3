"""Calls: `identity`, primitive ops and block calls (each block expansion replayed when an identical
call was expanded before)."""
from __future__ import annotations

from typing import Any

from resdsl import limits
from resdsl.diagnostics import LimitError, ResdslError, SpecSyntaxError
from resdsl.elaborate.binding import bind
from resdsl.elaborate.block_calls import block_call
from resdsl.elaborate.core import ElaboratorCore, _evaluate_in, arg_span
from resdsl.elaborate.primitives import PRIMITIVES, ArgProblem, Primitive, read_sources
from resdsl.elaborate.resolve import unknown_name_error
from resdsl.elaborate.state import Frame
from resdsl.elaborate.values import Evaluator, Parts, TensorRef, value_types
from resdsl.ir.types import TensorType
from resdsl.syntax import ast


class Calls(ElaboratorCore):
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
        # A primitive's op is a pure function of its arguments and input type: built once for each.  A
        # call site seen before with the same argument values (of the same types) and input shape binds
        # them the same way, so its op is looked up before binding: most calls of a network (`bn`,
        # `relu`, `conv 3x3 width` in a block called many times).  The entry holds the call, so its id
        # stays its own while the entry exists.
        built = self.state.built_ops
        evaluator = Evaluator(frame.env, frame.tensors)
        site = values = None
        if not primitive.sources:
            try:
                values = [evaluator.eval(arg.value) for arg in call.args]
            except ResdslError:  # reported by the binder below, in its order
                values = None
            if values is not None:
                site = (id(call), flow.type.shape, tuple(values), tuple(map(type, values)))
                try:
                    found = built.get(site)
                except TypeError:  # an argument that cannot be compared (a list, say)
                    site = found = None
                if found is not None and found[0] is call:
                    return self._add_built(found[1], call, frame, flow, label)
        params, defaults = primitive.signature
        if values is not None:  # evaluated once: the binder takes the values in the arguments' order
            evaluated = iter(values)
            args = bind(params, call.args, lambda expr: next(evaluated), call.name, call.span,
                        scope=self.globals, evaluate_in=_evaluate_in, defaults=defaults)
        else:
            args = self._bind_args(params, call.args, evaluator, call, call.name, defaults=defaults)
        extra: list[TensorRef] = []
        key = op = None
        if not primitive.sources:
            key = _build_key(call.name, args, flow.type)
            try:
                op = built.get(key)
            except TypeError:  # an argument that cannot be compared (a list, say): built each time
                key = None
        if op is None:
            try:
                if primitive.sources:  # tensors named in the arguments are read too (`maxunpool @pool1`)
                    args, extra = read_sources(primitive, args, self.state.builder.nodes.__getitem__)
                op = primitive.build(args, flow.type)
            except ArgProblem as problem:
                span = arg_span(call, problem.arg)
                raise self._located(problem.error, problem.message, span, problem.hint, frame, label) from None
            if key is not None:
                built[key] = op = (tuple(map(self.state.builder.share, op)) if isinstance(op, tuple)
                                   else self.state.builder.share(op))
        if site is not None and key is not None:
            built[site] = (call, op)
        return self._add_built(op, call, frame, flow, label, extra)

    def _add_built(self, op, call: ast.Call, frame: Frame, flow: TensorRef, label: str | None,
                   extra: list[TensorRef] = ()) -> TensorRef:
        if isinstance(op, tuple):  # split / chunk: one node per part, for the branches of the next merge
            if label is not None:
                raise SpecSyntaxError(f"{call.name} makes parts, not one value: it takes no label", call.span,
                                      "label the branches of the merge that follows instead")
            return Parts(tuple(self._add(part, [flow], frame.scope, None, frame.stage, call.span, frame)
                               for part in op), flow, call.span)
        return self._add(op, [flow, *extra], frame.scope, label, frame.stage, call.span, frame)

    def _bind_block(self, block: ast.BlockDef, call: ast.Call, args: tuple[ast.Arg, ...],
                    frame: Frame) -> tuple[dict[str, Any], tuple | None]:
        """A block call's bound arguments, and what of them a replay is keyed by (None: not comparable)."""
        bound = self._bind_args(block.params, args, Evaluator(frame.env, frame.tensors), call,
                                f"block {block.name}", definition_env=self.globals)
        return bound, _bound_key(block.name, bound)

    def _block(self, block: ast.BlockDef, call: ast.Call, args: tuple[ast.Arg, ...], frame: Frame,
               flow: TensorRef, label: str | None, stage_kind: str = "block",
               binding: tuple[dict[str, Any], tuple | None] | None = None) -> TensorRef:
        """Expand (or replay) a block call.  `binding` is `_bind_block`'s result for this call when the
        caller already has it (the repeats of a stage row bind the same arguments in the same scope)."""
        self.work.step(call.span)
        if len(self.state.call_sites) >= limits.MAX_CALL_DEPTH:
            raise LimitError(f"blocks nest deeper than {limits.MAX_CALL_DEPTH} calls (does '{block.name}' "
                             "call itself?)", call.span, "blocks cannot be recursive")
        bound, bound_key = binding if binding is not None else self._bind_block(block, call, args, frame)
        key = (None if block.inline or not self.reuse_expansions or bound_key is None else
               (bound_key, flow.type.shape, frame.stage, self.state.block_survival))
        template = self.state.templates.get(key) if key is not None else None
        if template is not None:
            # An identical call was expanded before: replay it (the 10,000-block specs stay fast).  Its
            # record is the template's when the call is written the same way (a stage row's blocks).
            seen_args, record = template.record
            if seen_args is not args:
                record = block_call(block, bound, args, self.state.function_defs)
                template.record = (args, record)
            try:
                out, drop_paths = self.state.builder.replay(template, frame.scope, label, flow, frame.stage,
                                                            call.span, call=record)
            except LimitError as err:
                raise LimitError(err.message, call.span, err.hint) from None
            return out
        env = self.globals.child(bound)
        record = block_call(block, bound, args, self.state.function_defs)
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
        if inner.scope != frame.scope:
            self.state.builder.close_scope(inner.scope)
        if key is not None:
            self.state.templates[key] = self.state.builder.template(mark, inner.scope, flow, out, (args, record))
        return out


def _build_key(name: str, args: dict[str, Any], input_type: TensorType) -> tuple:
    """What a primitive's op depends on, with the types of the values (1 and 1.0 may build apart; a spec
    value holds no tuple, and a size only whole numbers).  Unhashable when an argument cannot be
    compared (a list, say)."""
    values = tuple(args.values())
    return (name, input_type.shape, values, tuple(map(type, values)))


def _bound_key(block: str, bound: dict[str, Any]) -> tuple | None:
    """What a block expansion depends on of its arguments, with the types of the values (1 and 1.0 may
    build apart, and the call's record shows them apart); None when an argument cannot be compared (a
    list, say).  The replay key adds the input shape, the stage and the stochastic-depth survival."""
    values = tuple(bound.values())
    key = (block, tuple(bound), values, value_types(values))
    try:
        hash(key)
    except TypeError:
        return None
    return key
