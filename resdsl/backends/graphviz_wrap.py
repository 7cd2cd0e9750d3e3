"""Wrapping a long drawing into columns, so a deep network fits a slide.

A chain of 40 blocks drawn top to bottom is 1:10; cut into four columns side by side it is nearer 16:9.
The cut is pure data: which column each cell is drawn in.  `graphviz.py` then starts every column at
the top (the columns' first cells on one rank) and lets the edges that cross from one column to the
next bend without pulling the layout (`constraint=false`).
"""
from __future__ import annotations

import math
import re
from typing import Sequence

from resdsl.backends.graphviz_cells import Cell, Edge

__all__ = ["parse_aspect", "columns_for_aspect", "assign_columns"]

_ASPECT = re.compile(r"\s*(\d+(?:\.\d+)?)\s*[:x/]\s*(\d+(?:\.\d+)?)\s*")


def parse_aspect(text: str) -> float:
    """`16:9` (or `4:3`, `16x9`, `1.6:1`) as width / height; ValueError with what is expected."""
    match = _ASPECT.fullmatch(text)
    if match is None or float(match.group(1)) <= 0 or float(match.group(2)) <= 0:
        raise ValueError(f"expected an aspect ratio WIDTH:HEIGHT such as 16:9 or 4:3, got {text!r}")
    return float(match.group(1)) / float(match.group(2))


def columns_for_aspect(width: float, height: float, aspect: float, cells: int, rankdir: str = "TB") -> int:
    """How many columns (rows, left to right) bring a drawing of `width` x `height` in one column
    nearest `aspect`.  k columns make it about k x width wide and height / k high, so its aspect grows
    as k squared (falls as 1 / k squared for rows)."""
    if width <= 0 or height <= 0:
        return 1
    grows = rankdir == "TB"

    def aspect_with(k: int) -> float:
        return (k * width) / (height / k) if grows else (width / k) / (k * height)

    k = math.sqrt(aspect * height / width) if grows else math.sqrt(width / (height * aspect))
    best = min((max(1, math.floor(k)), max(1, math.ceil(k))), key=lambda n: abs(math.log(aspect_with(n) / aspect)))
    return max(1, min(best, cells))


def assign_columns(cells: Sequence[Cell], edges: Sequence[Edge], columns: int) -> dict[str, int]:
    """The column of each cell: `cells` (in drawing order) cut into `columns` runs of about equal length.

    Each cut is placed near its share of the cells where the fewest edges cross it: between two residual
    units (only the main path crosses), not inside one (its shortcut would cross too).  A cut between
    two stages is preferred, one inside a block's box (op level) is never made; a stage cut in two gets
    a box per column.  Fewer columns come out when there are too few places to cut."""
    n = len(cells)
    if columns <= 1 or n < 2:
        return {c.key: 0 for c in cells}
    index = {c.key: i for i, c in enumerate(cells)}
    crossing = [0] * (n + 1)  # crossing[b]: edges from a cell before b to a cell at or after b
    for edge in edges:
        tail, head = sorted((index[edge.tail], index[edge.head]))
        crossing[tail + 1] += 1
        crossing[head + 1] -= 1
    for b in range(1, n + 1):
        crossing[b] += crossing[b - 1]

    def cost(b: int) -> float:
        return crossing[b] + (0.0 if cells[b - 1].stage != cells[b].stage else 0.5)

    share, cuts = n / columns, []
    for j in range(1, columns):
        target, reach = round(j * share), max(1, round(share / 3))
        window = [b for b in range(max(1, target - reach), min(n - 1, target + reach) + 1)
                  if _may_cut(cells[b - 1], cells[b]) and (not cuts or b > cuts[-1])]
        if window:
            cuts.append(min(window, key=lambda b: (cost(b), abs(b - target))))
    out, column = {}, 0
    for i, cell in enumerate(cells):
        if column < len(cuts) and i == cuts[column]:
            column += 1
        out[cell.key] = column
    return out


def _may_cut(before: Cell, after: Cell) -> bool:
    """Between two cells of the same innermost block box the cut would tear the box."""
    return not (before.groups and after.groups and before.groups[0] == after.groups[0])
