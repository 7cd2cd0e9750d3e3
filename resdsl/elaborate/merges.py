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
        op = self._mean(merge, frame, len(branches)) if merge.kind == "mean" else \
            self._op({"add": ops.Add, "concat": ops.Concat, "mul": ops.Mul}[merge.kind])
        return self._add(op, branches, frame.scope, label, frame.stage, merge.span, frame)

    def _mean(self, merge: ast.Merge, frame: Frame, branches: int) -> ops.Mean:
        """`mean drop=p global=g columns=[...] { ... }`: FractalNet's join, with local drop-path
        probability p; with g > 0, global drop-path over the fractal columns its branches come from."""
        params = tuple(ast.Param(merge.span, n, None) for n in ("drop", "global", "columns"))
        args = self._bind_args(params, merge.args, Evaluator(frame.env, frame.tensors), merge, "mean",
                               defaults={"drop": 0, "global": 0, "columns": []})
        rates = {}
        for name, hint in (("drop", "the FractalNet paper drops with p = 0.15"),
                           ("global", "the FractalNet paper trains half its mini-batches on one column: 0.5")):
            v = args[name]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < 1:
                raise ArgumentError(f"mean's {name} is a probability in [0, 1); got {show(v)}",
                                    arg_span(merge, name), hint)
            rates[name] = float(v)
        columns = args["columns"]
        span = arg_span(merge, "columns")
        if not isinstance(columns, list) or not all(isinstance(c, int) and not isinstance(c, bool) and c >= 1
                                                    for c in columns):
            raise ArgumentError(f"mean's columns is a list of column numbers (1, 2, ...), got {show(columns)}",
                                span, "one per branch, in order: `columns=[1, 2, 3]`")
        if columns and len(columns) != branches:
            raise ArgumentError(f"mean's columns names {len(columns)} column{'s' if len(columns) != 1 else ''} "
                                f"but the join has {branches} branches", span, "one column number per branch, in order")
        if len(set(columns)) != len(columns):
            raise ArgumentError(f"mean's columns {show(columns)} names a column twice", span,
                                "each branch of a join comes from its own column")
        if rates["global"] and not columns:
            raise ArgumentError("global drop-path needs the column of each branch", arg_span(merge, "global"),
                                "add `columns=[...]`, one column number per branch (1 = the shallowest)")
        return ops.Mean(rates["drop"], tuple(columns), rates["global"])
