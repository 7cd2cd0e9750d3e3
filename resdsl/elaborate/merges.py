"""Merges: `add`, `concat`, `mul` and `mean` over branches, one branch per line (or per part of a split)."""
from __future__ import annotations

from resdsl.diagnostics import ArgumentError, SpecSyntaxError, StructureError
from resdsl.elaborate.core import ElaboratorCore, arg_span
from resdsl.elaborate.state import Frame
from resdsl.elaborate.statements import statement_word
from resdsl.elaborate.values import Evaluator, Parts, TensorRef, show
from resdsl.ir import ops
from resdsl.syntax import ast


class Merges(ElaboratorCore):
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
                        raise StructureError(f"this merge has more branches than the {len(flow.refs)} parts of the "
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
                raise SpecSyntaxError(f"`{statement_word(stmt)}` cannot be a branch", stmt.span,
                                      "each line of add/concat/mul is one branch")
        return outs

    def _merge(self, merge: ast.Merge, frame: Frame, flow: TensorRef | Parts, label: str | None) -> TensorRef:
        branches = self._branches(merge.body, frame, flow)
        if isinstance(flow, Parts) and len(branches) != len(flow.refs):
            raise StructureError(f"the split before this {merge.kind} makes {len(flow.refs)} parts, but it has "
                             f"{len(branches)} branch{'es' if len(branches) != 1 else ''}", merge.span,
                             "one branch per part, in order; `identity` passes a part on unchanged",
                             notes=[(flow.span, "the split is here")])
        if len(branches) < 2:
            raise StructureError(f"{merge.kind} needs at least two branches, got {len(branches)}", merge.span,
                             "one branch per line; write `identity` for the value coming in")
        op = self._mean(merge, frame) if merge.kind == "mean" else \
            self._op({"add": ops.Add, "concat": ops.Concat, "mul": ops.Mul}[merge.kind])
        return self._add(op, branches, frame.scope, label, frame.stage, merge.span, frame)

    def _mean(self, merge: ast.Merge, frame: Frame) -> ops.Mean:
        """`mean drop=p { ... }`: FractalNet's join, with local drop-path probability p."""
        params = (ast.Param(merge.span, "drop", None),)
        args = self._bind_args(params, merge.args, Evaluator(frame.env, frame.tensors), merge, "mean",
                               defaults={"drop": 0})
        drop = args["drop"]
        if isinstance(drop, bool) or not isinstance(drop, (int, float)) or not 0 <= drop < 1:
            raise ArgumentError(f"mean's drop is the probability of dropping an input, in [0, 1); got {show(drop)}",
                             arg_span(merge, "drop"), "the FractalNet paper drops with p = 0.15")
        return ops.Mean(float(drop))
