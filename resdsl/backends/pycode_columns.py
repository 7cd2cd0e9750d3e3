"""A column of numbers (one per instance, or per member of a family) as one expression: a constant step
(`progression_step`), a simple function of a parameter's column (`width_relation`: `in_channels // 4`), a
linear function of the family parameter (`linear`: `(depth - 2) // 6`), or the spec's own expression that
gives it (`same_width`).  Each is checked on every value it must explain.  Nothing here imports torch.
"""
from __future__ import annotations

from typing import Any

from resdsl.backends import pycode_guards as guards


def same_width(read: list[tuple[str, Any, Any]], there: list[int], values: tuple,
                bases: list[tuple[str, tuple]]) -> str | None:
    """The latest of the spec's expressions `read` that gives `values` in the instances `there`."""
    columns = dict(bases)
    for text, tree, reader in reversed(read):
        try:
            if all(guards.evaluate(tree, {n: c[j] for n, c in columns.items()}, reader) == v and
                   type(guards.evaluate(tree, {n: c[j] for n, c in columns.items()}, reader)) is type(v)
                   for j, v in zip(there, values)):
                return text
        except (guards.Unreadable, TypeError, ValueError, ZeroDivisionError, OverflowError, KeyError):
            continue
    return None


def progression_step(column: list[Any]) -> int | None:
    """The step of an arithmetic progression of whole numbers (0: constant), or None."""
    if all(type(v) is type(column[0]) and v == column[0] for v in column):
        return 0
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in column):
        return None
    step = column[1] - column[0]
    return step if all(b - a == step for a, b in zip(column, column[1:])) else None


def width_relation(column: tuple, params: dict[tuple, tuple[str, int]]) -> str | None:
    """`width * 4`, `in_channels // 4`, `in_channels + 12`: a whole-number column as a simple function
    of a parameter's column, so a block takes its widths once (DenseNet's layer k reads
    in_channels + (k-1) * growth)."""
    values = int_column(column)
    if values is None:
        return None
    for base, (name, _) in params.items():
        p = int_column(base)
        if p is None or 0 in p:
            continue
        for m in range(2, 65):
            if all(c == v * m for c, v in zip(values, p)):
                return f"{name} * {m}"
            if all(v == c * m for c, v in zip(values, p)):
                return f"{name} // {m}"
        d = values[0] - p[0]
        if all(c - v == d for c, v in zip(values, p)):
            return f"{name} + {d}" if d > 0 else f"{name} - {-d}"
    return None


def int_column(column: tuple) -> list[int] | None:
    return [v for _, v in column] if all(t is int for t, _ in column) else None


def linear(column: list[Any], values: list[int], name: str) -> str | None:
    """`(depth - 2) // 6`, `4 * k`, `depth`: a whole number of each member as one expression of the
    parameter's value in it (exact in every member)."""
    if not all(type(v) is int for v in column) or column[1] == column[0]:
        return None
    dv, dp = column[1] - column[0], values[1] - values[0]
    if dv > 0 and dp % dv == 0:  # v = (p - c) // a
        a = dp // dv
        c = values[0] - a * column[0]
        if all((p - c) % a == 0 and (p - c) // a == v for p, v in zip(values, column)):
            shifted = name if c == 0 else f"{name} - {c}" if c > 0 else f"{name} + {-c}"
            return shifted if a == 1 else f"({shifted}) // {a}" if c else f"{name} // {a}"
    if dv % dp == 0:  # v = m * p + c
        m = dv // dp
        c = column[0] - m * values[0]
        if m > 0 and all(m * p + c == v for p, v in zip(values, column)):
            scaled = name if m == 1 else f"{m} * {name}"
            return scaled if c == 0 else f"{scaled} + {c}" if c > 0 else f"{scaled} - {-c}"
    return None
