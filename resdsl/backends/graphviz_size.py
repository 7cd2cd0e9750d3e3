"""How long Graphviz's `dot` will take, estimated before it runs; and drawings collapsed to fit.

`dot`'s layout time grows much faster than the graph.  Measured on this project's machines (CPU
seconds of `dot -Tsvg` on our DOT; bench/bench_all.py re-measures it), with n = drawn nodes + edges:

    ResNet-110, op level        n =   386    0.06 s
    ResNet-152, op level        n =   468    0.09 s
    300 distinct blocks, block  n = 1,508    0.93 s
    600 distinct blocks, block  n = 3,008    4.4 s
    ResNet-1202, op level       n = 4,208    9.2 s
    1,000 distinct blocks       n = 5,008   17.7 s   (72 s of wall time on a busy machine)

fits seconds ~= 1e-7 * n ** 2.2 within 25% from n = 400 on.  A drawing estimated past
LAYOUT_BUDGET is refused before `dot` starts, with the drawings that would fit; `--max-nodes N` asks
for the most detailed drawing of at most N nodes instead, collapsing the deepest scopes first (an op
level becomes one node per block, then identical blocks fold to ×N, then one node per stage).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Sequence

from resdsl.backends.graphviz_cells import View
from resdsl.diagnostics import SourceSpan, UsageError

LAYOUT_BUDGET = 5.0   # seconds of estimated layout a drawing may take without --max-nodes
# How long `dot` is waited for: a base for start-up and a small graph, plus a multiple of the estimate
# (a busy machine ran 4x slower than the estimate); 70 s for the largest drawing allowed by default.
WAIT_BASE, WAIT_FACTOR = 30.0, 8.0
_COEFF, _POWER = 1e-7, 2.2

# From the most detailed drawing to the least: (level, expand).  A ladder starts at the one asked for.
_LADDER = (("op", False), ("block", True), ("block", False), ("stage", False))

_SPAN = SourceSpan("--max-nodes", 1, 1, 1, 1)


class DrawingTooLarge(UsageError):
    """A drawing `dot` would take minutes to lay out (or one that cannot fit --max-nodes)."""


def nodes(views: Sequence[View]) -> int:
    return sum(len(v.cells) for v in views) + 1  # + the legend


def edges(views: Sequence[View]) -> int:
    return sum(len(v.edges) for v in views)


def layout_seconds(views: Sequence[View]) -> float:
    """The estimated CPU time of `dot` laying these views out (see the table above)."""
    return _COEFF * (nodes(views) + edges(views)) ** _POWER


def ladder(level: str, expand: bool) -> tuple[tuple[str, bool], ...]:
    start = _LADDER.index((level, expand and level == "block"))
    return _LADDER[start:]


def describe(level: str, expand: bool) -> str:
    return "block level with --expand" if expand and level == "block" else f"{level} level"


def fit(build: Callable[[str, bool], tuple[View, ...]], level: str, expand: bool,
        max_nodes: int) -> tuple[View, ...]:
    """The most detailed drawing from (level, expand) down with at most `max_nodes` nodes; the
    views say in their legend what was collapsed."""
    if max_nodes < 1:
        raise DrawingTooLarge(f"--max-nodes must be at least 1, got {max_nodes}", _SPAN)
    sizes = []
    for step_level, step_expand in ladder(level, expand):
        drawn = build(step_level, step_expand)
        count = nodes(drawn)
        if count <= max_nodes:
            if sizes:
                asked, asked_count = sizes[0]
                note = (f"collapsed to the {describe(step_level, step_expand)} to fit --max-nodes {max_nodes:,} "
                        f"(the {asked} has {asked_count:,} nodes)")
                drawn = tuple(replace(v, notes=v.notes + (note,)) for v in drawn)
            return drawn
        sizes.append((describe(step_level, step_expand), count))
    listed = ", ".join(f"{what} {count:,}" for what, count in sizes)
    raise DrawingTooLarge(f"no drawing of this network has at most {max_nodes:,} nodes ({listed})", _SPAN,
                          f"raise --max-nodes to {sizes[-1][1]:,} or more")


def check_layout(views: Sequence[View], build: Callable[[str, bool], tuple[View, ...]], expand: bool) -> None:
    """Refuse, before `dot` runs, a drawing it would take longer than LAYOUT_BUDGET to lay out; the
    hint names what would work."""
    seconds = layout_seconds(views)
    if seconds <= LAYOUT_BUDGET:
        return
    level = views[0].level
    count, links = nodes(views), edges(views)
    fits = int(count * _max_size() / (count + links))  # nodes that fit, at this drawing's edges per node
    options = []
    for step_level, step_expand in ladder(level, expand)[1:]:
        smaller = build(step_level, step_expand)
        if layout_seconds(smaller) <= LAYOUT_BUDGET:
            flag = "--level block --expand" if step_expand else f"--level {step_level}"
            options.append(f"{flag} ({nodes(smaller):,} nodes, {_shown(layout_seconds(smaller))})")
            if layout_seconds(smaller) < 1:
                break  # a quick one is named; coarser ones would only say less
    options += [f"--max-nodes {fits} (the most detail that fits, the deepest scopes collapsed first)",
                "-o FILE.dot for the DOT source, which needs no layout"]
    raise DrawingTooLarge(
        f"the {describe(level, expand)} drawing has {count:,} nodes and {links:,} edges: Graphviz's dot "
        f"would need {_shown(seconds)} to lay it out (estimated from its size; the time grows with "
        f"the square of it), past the {LAYOUT_BUDGET:.0f} s a drawing is allowed",
        SourceSpan("--level", 1, 1, 1, 1), "draw less: " + "; or ".join(options))


def dot_wait(views: Sequence[View]) -> float:
    """Seconds to wait for `dot` on these views: scaled to the estimated layout time."""
    return WAIT_BASE + WAIT_FACTOR * layout_seconds(views)


def timeout_error(views: Sequence[View], waited: float, expand: bool) -> DrawingTooLarge:
    """`dot` ran past its wait: say how large the drawing is, what was expected, and what to draw instead."""
    level = views[0].level
    count, links = nodes(views), edges(views)
    # dot took longer than its estimate, so the estimate is no guide: offer half, or what it says fits
    fits = max(1, min(count // 2, int(count * _max_size() / (count + links))))
    options = []
    if level == "op":
        options.append("--level block")
    elif expand:
        options.append("--level block without --expand")
    if level != "stage":
        options.append("--level stage")
    options += [f"--max-nodes {fits} (the deepest scopes collapsed first)",
                "-o FILE.dot for the DOT source, which needs no layout (lay it out elsewhere, e.g. with sfdp)"]
    shown = f"{waited:.0f}" if waited >= 10 else f"{waited:.1f}"
    return DrawingTooLarge(
        f"Graphviz's dot did not finish the {describe(level, expand)} drawing ({count:,} nodes, {links:,} "
        f"edges) within {shown} s; its layout was estimated at {_shown(layout_seconds(views))} "
        f"(the wait is {WAIT_BASE:g} s + {WAIT_FACTOR:g} x the estimate): the machine may be busy, or "
        "dot slower on this graph than its size says", SourceSpan("--level", 1, 1, 1, 1),
        "draw less: " + "; or ".join(options))


def _max_size() -> float:
    return (LAYOUT_BUDGET / _COEFF) ** (1 / _POWER)


def _shown(seconds: float) -> str:
    if seconds < 1:
        return "under a second"
    if seconds < 120:
        return f"about {seconds:.0f} s"
    if seconds < 7200:
        return f"about {seconds / 60:.0f} minutes"
    return f"about {seconds / 3600:.0f} hours"
