"""Graphviz diagrams of checked networks, where the skip connections are the point.

    >>> from resdsl.backends.graphviz import DrawOptions, to_dot
    >>> source = to_dot([resdsl.load("specs/torchvision/resnet18.res")], DrawOptions(level="block"))

`to_dot` builds the DOT source with the `graphviz` package (pure: the same networks give the same
bytes); `draw` renders it with the `dot` program and writes the file atomically.  Reads only the checked
IR and its counts; never imports torch.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import graphviz

from resdsl.backends import graphviz_size as size
from resdsl.backends.graphviz_render import DotTimeout, format_for, render, write_atomic
from resdsl.backends.graphviz_style import (CELL_STYLES, CLUSTER_ATTRS, EDGE_ATTRS, EDGE_STYLES, GRAPH_ATTRS,
                                            GROUP_ATTRS, NETWORK_ATTRS, NODE_ATTRS, REPEAT_STYLE, edge_label,
                                            fill_for, html_label, legend_label, merged)
from resdsl.backends.graphviz_view import LEVELS, Cell, View, build_view
from resdsl.backends.graphviz_wrap import assign_columns
from resdsl.network import Network
from resdsl.perf import gc_paused

__all__ = ["DrawOptions", "LEVELS", "RANKDIRS", "to_dot", "draw", "views", "emit", "fit_columns"]

RANKDIRS = ("TB", "LR")


@dataclass(frozen=True)
class DrawOptions:
    level: str = "block"     # stage | block | op
    rankdir: str = "TB"      # TB (top to bottom) | LR (left to right)
    expand: bool = False     # draw every block instead of collapsing identical runs to ×N
    max_nodes: int | None = None  # draw at most this many nodes, collapsing the deepest scopes first
    columns: int = 1         # cut the drawing into this many columns side by side (rows with LR)

    def __post_init__(self) -> None:
        if self.level not in LEVELS or self.rankdir not in RANKDIRS or self.columns < 1:
            raise ValueError(f"level is one of {LEVELS} and rankdir one of {RANKDIRS}, "
                             f"and columns at least 1, got {self.level!r}, {self.rankdir!r}, {self.columns}")


def views(networks: Sequence[Network], options: DrawOptions = DrawOptions()) -> tuple[View, ...]:
    """The views to draw: at the level asked for, or with `max_nodes` the most detailed that fits."""
    def build(level: str, expand: bool) -> tuple[View, ...]:
        return tuple(build_view(net, level, expand) for net in networks)

    with gc_paused():  # a view of a large graph is hundreds of thousands of small acyclic objects
        if options.max_nodes is None:
            return build(options.level, options.expand)
        return size.fit(build, options.level, options.expand, options.max_nodes)


def to_dot(networks: Sequence[Network], options: DrawOptions = DrawOptions()) -> str:
    """The DOT source: one network, or several side by side (each in a cluster of its own)."""
    with gc_paused():
        return emit(views(networks, options), options.rankdir, options.columns)


def fit_columns(drawn: Sequence[View], rankdir: str, aspect: float, tries: int = 6) -> int:
    """The number of columns whose layout comes out nearest `aspect` (width / height).  Skip arcs and
    uneven columns make the layout's size hard to predict, so `dot` lays out a few candidates, starting
    from the estimate a one-column layout gives, and the nearest is kept."""
    import math

    from resdsl.backends.graphviz_wrap import columns_for_aspect

    def measured(k: int) -> float:
        plain = render(emit(drawn, rankdir, k), "plain").decode("utf-8", "replace")
        _, _, width, height = plain.split("\n", 1)[0].split()[:4]  # "graph SCALE WIDTH HEIGHT"
        return float(width) / float(height)

    most = max(len(v.cells) for v in drawn)
    one = measured(1)
    seen = {1: one}
    k = columns_for_aspect(one, 1.0, aspect, most, rankdir)
    grows = rankdir == "TB"  # more columns: wider (TB); more rows: taller (LR)
    while k not in seen and len(seen) < tries:
        seen[k] = measured(k)
        short = seen[k] < aspect if grows else seen[k] > aspect
        k = min(most, k + 1) if short else max(1, k - 1)
    return min(seen, key=lambda n: (abs(math.log(seen[n] / aspect)), n))


def draw(networks: Sequence[Network], output: Path, options: DrawOptions = DrawOptions(),
         drawn: Sequence[View] | None = None) -> str:
    """Render to `output` (format from its suffix); returns the format written.  `drawn` are the
    networks' `views` when the caller has made them already.  A drawing `dot` would take too long to
    lay out is refused before `dot` runs (`graphviz_size.DrawingTooLarge`, naming what would fit)
    unless `options.max_nodes` says how large a drawing is wanted."""
    fmt = format_for(output)
    drawn = views(networks, options) if drawn is None else drawn
    if fmt != "dot" and options.max_nodes is None:
        size.check_layout(drawn, lambda level, expand: tuple(build_view(net, level, expand) for net in networks),
                          options.expand)
    wait = size.dot_wait(drawn)
    try:
        image = render(emit(drawn, options.rankdir, options.columns), fmt, timeout=wait)
    except DotTimeout:
        raise size.timeout_error(drawn, wait, options.expand) from None
    write_atomic(output, image)
    return fmt


def emit(drawn: Sequence[View], rankdir: str = "TB", columns: int = 1) -> str:
    with gc_paused():
        return _emit(drawn, rankdir, columns)


def _emit(drawn: Sequence[View], rankdir: str, columns: int) -> str:
    name = "_vs_".join(v.name for v in drawn)
    dot = graphviz.Digraph(name, graph_attr=merged(GRAPH_ATTRS, {"rankdir": rankdir}),
                           node_attr=NODE_ATTRS, edge_attr=EDGE_ATTRS)
    if len(drawn) == 1:
        dot.attr(label=drawn[0].title)
        _emit_view(dot, drawn[0], "", columns)
    else:
        for i, view in enumerate(drawn):
            with _subgraph(dot, f"cluster_net{i}") as sub:
                sub.attr(label=view.title, **NETWORK_ATTRS)
                _emit_view(sub, view, f"{_prefix(i)}_", columns)
        _align_stages(dot, drawn)
    _emit_legend(dot, drawn)
    return dot.source


def _align_stages(dot: graphviz.Digraph, drawn: Sequence[View]) -> None:
    """Side by side, start the stages the networks share on one level (plain-34 beside ResNet-34
    reads like the paper's figure)."""
    firsts = []
    for view in drawn:
        first: dict[str, str] = {}
        for cell in view.cells:
            if cell.stage is not None:
                first.setdefault(cell.stage, cell.key)
        firsts.append(first)
    for stage, key in firsts[0].items():
        if all(stage in f for f in firsts[1:]):
            with _subgraph(dot) as same:
                same.attr(rank="same")
                for i, first in enumerate(firsts):
                    same.node(f"{_prefix(i)}_{first[stage]}")


def _prefix(i: int) -> str:
    return chr(ord("a") + i) if i < 26 else f"net{i}"


def _emit_view(dot: graphviz.Digraph, view: View, prefix: str, columns: int = 1) -> None:
    boxes = dict(view.stage_boxes)
    group_titles = dict(view.group_titles)
    column = assign_columns(view.cells, view.edges, columns)
    boxed: set[str] = set()
    for (stage, col), cells in _runs(view.cells, lambda c: (c.stage if c.stage in boxes else None, column[c.key])):
        if stage is None:
            _emit_cells(dot, cells, prefix, group_titles)
            continue
        # A stage cut by a column break gets a box in each column; the later ones say they continue it.
        label = boxes[stage] if stage not in boxed else f"{stage} (continued)"
        boxed.add(stage)
        with _subgraph(dot, f"cluster_{prefix}stage_{_slug(stage)}" + (f"_col{col}" if col else "")) as sub:
            sub.attr(label=label, **CLUSTER_ATTRS)
            _emit_cells(sub, cells, prefix, group_titles)
    for edge in view.edges:
        style = EDGE_STYLES[edge.kind]
        if column[edge.tail] != column[edge.head]:
            # An edge into another column bends up to its top without pulling that column down (a
            # style may say so already: U-Net's bridges).
            style = {**style, "constraint": "false"}
        dot.edge(prefix + edge.tail, prefix + edge.head, label=edge_label(edge.label), **style)
    _align_columns(dot, view, column, prefix)
    for pair in view.same_rank:
        with _subgraph(dot) as same:
            same.attr(rank="same")
            for key in pair:
                same.node(prefix + key)


def _align_columns(dot: graphviz.Digraph, view: View, column: dict[str, int], prefix: str) -> None:
    """Every column starts on the first rank, each after the one before it."""
    heads: dict[int, str] = {}
    for cell in view.cells:
        heads.setdefault(column[cell.key], cell.key)
    if len(heads) < 2:
        return
    with _subgraph(dot) as same:
        same.attr(rank="same")
        for col in sorted(heads):
            same.node(prefix + heads[col])
    for left, right in zip(sorted(heads), sorted(heads)[1:]):  # keep the columns in order, left to right
        dot.edge(prefix + heads[left], prefix + heads[right], style="invis")


def _emit_cells(dot: graphviz.Digraph, cells: Sequence[Cell], prefix: str, titles: dict[str, str],
                depth: int = 0) -> None:
    """Cells in their block boxes, nested boxes inside (`depth` is the nesting being emitted)."""
    for group, members in _runs(cells, lambda c: c.groups[depth] if len(c.groups) > depth else None):
        if group is None:
            for cell in members:
                _emit_cell(dot, cell, prefix)
            continue
        with _subgraph(dot, f"cluster_{prefix}{group}") as sub:
            sub.attr(label=titles[group], **GROUP_ATTRS)
            _emit_cells(sub, members, prefix, titles, depth + 1)


def _emit_cell(dot: graphviz.Digraph, cell: Cell, prefix: str) -> None:
    attrs = dict(CELL_STYLES[cell.role])
    if cell.op is not None:
        attrs.setdefault("fillcolor", fill_for(cell.op))
    if cell.kind is not None:
        attrs["color"] = EDGE_STYLES[cell.kind]["color"]
    if cell.repeat > 1:
        attrs.update(REPEAT_STYLE)
    dot.node(prefix + cell.key, html_label(cell.title, cell.lines, cell.stats, cell.above), **attrs)


def _emit_legend(dot: graphviz.Digraph, drawn: Sequence[View]) -> None:
    kinds = ["flow"] + [k for k in EDGE_STYLES if k != "flow" and any(k in v.kinds for v in drawn)]
    notes: list[str] = []
    for view in drawn:
        notes.extend(n for n in view.notes if n not in notes)
    dot.node("legend", legend_label(kinds, notes), shape="plaintext", style="", margin="0")


@contextmanager
def _subgraph(parent: graphviz.Digraph, name: str | None = None) -> Iterator[graphviz.Digraph]:
    """`parent.subgraph(name=...)`, the same lines, without the copy of the parent's whole body the
    package makes for each one (quadratic: a drawing of 10,000 distinct blocks has 10,000 stage boxes)."""
    sub = graphviz.Digraph(name)
    yield sub
    parent.subgraph(sub)


def _runs(items, key):
    """Consecutive items with the same key, as (key, items)."""
    out: list[tuple[object, list]] = []
    for item in items:
        k = key(item)
        if out and out[-1][0] == k:
            out[-1][1].append(item)
        else:
            out.append((k, [item]))
    return out


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text)
