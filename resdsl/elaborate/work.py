"""The work budget of one elaboration: steps, value sizes and value nesting, all bounded.

Declared budgets (`budget params <= 25M`) are about the network; this one is about resdsl itself.  A spec
cannot make elaboration run for hours or allocate gigabytes, whether or not it creates ops:

* every statement, loop iteration, block call and expression node is a step, and one network may take
  at most `limits.MAX_STEPS` of them (building a list of n items costs n/16 steps, a string n/64);
* every value is checked as it is made: whole numbers have at most `limits.MAX_INT_DIGITS` digits,
  other numbers are finite, strings, lists and maps hold at most `limits.MAX_VALUE_ITEMS` items
  (counted through nested lists, so `[l, l]` of a big `l` counts twice) and nest at most
  `limits.MAX_NESTING` deep.

The elaborator calls `step` where it loops and the evaluator calls `step` and `value` for each node: those
are the only hook points.  Every refusal is a `LimitError` at the span that passed the limit.
"""
from __future__ import annotations

import math
from typing import Any

from resdsl import limits
from resdsl.diagnostics import LimitError, SourceSpan

_INT_BOUND = 10 ** limits.MAX_INT_DIGITS
_STEP_HINT = ("a spec this busy is almost always a loop bound or a repeat count off by orders of magnitude; "
              "the limit is fixed so that no spec can hang resdsl")


def number_error(what: str, span: SourceSpan) -> LimitError:
    """The one message for a number resdsl will not hold (too many digits, or not finite)."""
    return LimitError(f"{what}: resdsl's numbers are whole numbers of at most {limits.MAX_INT_DIGITS} digits "
                      "or finite decimals", span, "is an exponent or a repeated product too large?")


class WorkBudget:
    """Counts the work of one elaboration; raises `LimitError` as soon as a limit is passed.

    `TableWork` hands each row of a table a budget of what the table has left (at most one network's),
    so a table of many rows is bounded as a whole, not row by row."""

    __slots__ = ("max_steps", "steps", "_shapes", "_table_limit")

    def __init__(self, max_steps: int | None = None, table_limit: int | None = None):
        self.max_steps = limits.MAX_STEPS if max_steps is None else max_steps  # read now, not at import
        self.steps = 0
        self._shapes: dict[int, tuple[Any, int, int]] = {}  # id -> (list or map, items, depth)
        self._table_limit = table_limit  # set when the table's remainder, not a network's limit, binds

    def step(self, span: SourceSpan, n: int = 1) -> None:
        self.steps += n
        if self.steps > self.max_steps:
            if self._table_limit is not None:
                raise LimitError(f"this table's rows need more than {self._table_limit:,} evaluation steps "
                                 "together (statements, loop iterations, block calls and expression terms); "
                                 "that is resdsl's work limit for one table", span,
                                 "split the table into several files, or fix the row whose network loops "
                                 "this much")
            raise LimitError(f"this spec needs more than {self.max_steps:,} evaluation steps (statements, loop "
                             f"iterations, block calls and expression terms); that is resdsl's work limit",
                             span, _STEP_HINT)

    def value(self, v: Any, span: SourceSpan) -> Any:
        """`v`, after checking it is within the size limits."""
        t = type(v)
        if t is int:
            if not -_INT_BOUND < v < _INT_BOUND:
                raise number_error(f"this whole number has more than {limits.MAX_INT_DIGITS} digits", span)
        elif t is float:
            if not math.isfinite(v):
                raise number_error("this number overflows (the result is not finite)", span)
        elif t is str:
            if len(v) > limits.MAX_VALUE_ITEMS:
                raise LimitError(f"this string has {len(v):,} characters; the limit is "
                                 f"{limits.MAX_VALUE_ITEMS:,}", span)
            self.step(span, len(v) // 64)
        elif t is list or t is dict:
            self.shape(v, span)
        return v

    def shape(self, v: list | dict, span: SourceSpan) -> tuple[int, int]:
        """(items counted through nested lists and maps, nesting depth) of a list or map."""
        known = self._shapes.get(id(v))
        if known is not None and known[0] is v:
            return known[1], known[2]
        items, depth = len(v), 1
        self.step(span, len(v) // 16)  # a step is ~100x the work of copying one item
        members = [x for pair in v.items() for x in pair] if isinstance(v, dict) else v
        for member in members:
            if type(member) is list or type(member) is dict:
                n, d = self.shape(member, span)
                items, depth = items + n, max(depth, d + 1)
                if items > limits.MAX_VALUE_ITEMS:
                    break
        if items > limits.MAX_VALUE_ITEMS:
            raise LimitError(f"this value holds more than {limits.MAX_VALUE_ITEMS:,} items (nested lists "
                             "count every time they appear); that is resdsl's limit", span,
                             "is a list doubled in a loop?")
        if depth > limits.MAX_NESTING:
            raise LimitError(f"this value nests lists or maps more than {limits.MAX_NESTING} deep; that is "
                             "resdsl's limit", span)
        self._shapes[id(v)] = (v, items, depth)
        return items, depth


class TableWork:
    """The work budget of one `resdsl table` run, shared by all its rows: `limits.MAX_TABLE_STEPS`
    evaluation steps and `limits.MAX_TABLE_NODES` ops in all, and never more for one row than for one
    network on its own."""

    __slots__ = ("steps", "nodes")

    def __init__(self) -> None:
        self.steps = 0
        self.nodes = 0

    def row_budget(self) -> WorkBudget:
        left = limits.MAX_TABLE_STEPS - self.steps
        if left < limits.MAX_STEPS:
            return WorkBudget(max(left, 0), table_limit=limits.MAX_TABLE_STEPS)
        return WorkBudget()

    def spent(self, budget: WorkBudget, nodes: int, span: SourceSpan) -> None:
        """Book a finished row's work; past the table's op limit, refuse at the row."""
        self.steps += budget.steps
        self.nodes += nodes
        if self.nodes > limits.MAX_TABLE_NODES:
            raise LimitError(f"this table's networks have more than {limits.MAX_TABLE_NODES:,} ops together; "
                             "that is resdsl's limit for one table", span,
                             "split the table into several files")
