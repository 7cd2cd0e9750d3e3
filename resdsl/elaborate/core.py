"""What every part of the elaborator shares: the program, the state of the running elaboration,
adding a node, and pointing an error at the user's own line.

The elaborator is split by concern into mixins over `ElaboratorCore` (statements.py, calls.py, stages.py,
depth.py, merges.py, residuals.py); `elaborator.Elaborator` composes them and elaborates networks.  All
the state of one elaboration lives in `self.state` (state.py), replaced for each network.
"""
from __future__ import annotations

from typing import Any

from resdsl.diagnostics import LimitError, ResdslError, ShapeError, SourceSpan, StructureError
from resdsl.elaborate.binding import bind
from resdsl.elaborate.loader import Program
from resdsl.elaborate.state import ElaborationState, Frame
from resdsl.elaborate.values import Env, Evaluator, Function, Parts, TensorRef, value_types
from resdsl.elaborate.work import WorkBudget
from resdsl.ir import ops
from resdsl.ir.shapes import ShapeProblem
from resdsl.syntax import ast


class ElaboratorCore:
    def __init__(self, program: Program, reuse_expansions: bool = True):
        self.program = program
        self.reuse_expansions = reuse_expansions
        self.state = self._fresh_state(None)  # replaced by a fresh one for each network

    def _fresh_state(self, input_shape: tuple[int, int, int] | None,
                     budget: WorkBudget | None = None) -> ElaborationState:
        work = budget if budget is not None else WorkBudget()  # by default each network gets the whole budget
        functions = Env({name: Function(d) for name, d in self.program.functions.items()}, budget=work)
        return ElaborationState(work=work, globals=functions, function_defs=tuple(self.program.functions.values()),
                                input_override=input_shape)

    @staticmethod
    def _spent_state(state: ElaborationState) -> ElaborationState:
        """What outlives a network's elaboration: its work budget and the spec's functions."""
        return ElaborationState(work=state.work, globals=state.globals, function_defs=state.function_defs,
                                input_override=state.input_override)

    @property
    def work(self) -> WorkBudget:
        return self.state.work

    @property
    def globals(self) -> Env:
        """The spec's `def` functions: the scope every block body and parameter default sees."""
        return self.state.globals

    # ---- nodes and errors ----------------------------------------------------------------------

    def _op(self, cls: type[ops.Op], *args: Any, **fields: Any) -> ops.Op:
        """`cls(*args, **fields)`, made once per distinct arguments (of the same types) in this network."""
        values = (*args, *fields.values())
        key = (cls, values, tuple(fields), value_types(values))
        op = self.state.made_ops.get(key)
        if op is None:
            op = self.state.made_ops[key] = self.state.builder.share(cls(*args, **fields))
        return op

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

    def _bind_args(self, params: tuple[ast.Param, ...], args: tuple[ast.Arg, ...], evaluator: Evaluator,
                   call, what: str, defaults: dict[str, Any] | None = None,
                   definition_env: Env | None = None) -> dict[str, Any]:
        """Bind positional then keyword arguments to parameters; defaults fill the rest."""
        # Without a definition (a primitive, `residual`, ...) a default is evaluated over the spec's
        # functions, within this network's work budget.
        return bind(params, args, evaluator.eval, what, getattr(call, "span", None),
                    scope=definition_env or self.globals, evaluate_in=_evaluate_in, defaults=defaults)


def _evaluate_in(env: Env, expr: ast.Expr) -> Any:
    return Evaluator(env, {}).eval(expr)


def no_parts(flow, item) -> None:
    """The parts of a split go only into the merge right after it."""
    if isinstance(flow, Parts) and not isinstance(item, ast.Merge):
        raise StructureError("the parts of a split feed the branches of a merge, which must come next",
                         getattr(item, "span", flow.span), "follow the split with `concat { ... }` (or add/mul), "
                         "one branch per part", notes=[(flow.span, "the split is here")] if item is not None else ())


def arg_span(call, name: str | None) -> SourceSpan:
    for arg in getattr(call, "args", ()):
        if arg.name == name:
            return arg.span
    return call.span
