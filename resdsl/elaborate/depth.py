"""Stochastic depth: the survival of every stage block, computed up front from the stage rows."""
from __future__ import annotations

from resdsl import limits
from resdsl.diagnostics import ArgumentError, LimitError, ResdslError, SpecSyntaxError
from resdsl.elaborate.core import ElaboratorCore, arg_span
from resdsl.elaborate.primitives import ArgProblem, drop_path_mode
from resdsl.elaborate.state import DepthSchedule, Frame
from resdsl.elaborate.values import Env, Evaluator, Symbol, show
from resdsl.syntax import ast


class StochasticDepth(ElaboratorCore):
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
            raise ArgumentError(problem.message, arg_span(stmt, "mode"), problem.hint) from None
        blocks = self._count_stage_blocks(stmt, env)
        value = args["p_L"]
        if (value is None) == (drop is None):
            raise SpecSyntaxError("stochastic_depth takes the survival of the last block (the paper's p_L) or "
                                  "drop=EXPR, a drop probability per block", stmt.span,
                                  "`stochastic_depth 0.5`, or `stochastic_depth(drop=0.2 * block / blocks, "
                                  "mode=row)` as torchvision's EfficientNet")
        if drop is None:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
                raise ArgumentError(f"stochastic_depth takes the survival probability of the last block, "
                                 f"between 0 and 1; got {show(value)}", stmt.span,
                                 "the paper uses `stochastic_depth 0.5`")
            survivals = tuple(1.0 - l / blocks * (1.0 - float(value)) for l in range(1, blocks + 1))
        else:
            rates = [Evaluator(env.child({"block": i, "blocks": blocks}), {}).eval(drop.value) for i in range(blocks)]
            for i, rate in enumerate(rates):
                if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
                    raise ArgumentError(f"drop gives block {i} of {blocks} the drop probability {show(rate)}; it must "
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
        if count > limits.MAX_NODES:  # each block is an op at least: refuse before the schedule is made
            raise LimitError(f"stochastic_depth counts {count:,} stage blocks ahead; a network holds at most "
                             f"{limits.MAX_NODES:,} ops", stmt.span, "reduce the repeats")
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
        if not isinstance(repeats, int) or isinstance(repeats, bool) or repeats < 1:
            return 0  # reported where the row is built
        if repeats > limits.MAX_REPEATS:
            raise LimitError(f"this stage repeats its block {repeats:,} times; the limit is {limits.MAX_REPEATS:,}",
                             row.repeats.span, "is that a typo?")
        return repeats


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
