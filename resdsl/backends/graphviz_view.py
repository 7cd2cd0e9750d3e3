"""What to draw at each level: the drawn nodes ("cells"), the edges between them and their clusters.

A view is a quotient of the IR graph: every IR node is assigned to one cell, or to none when it sits
on a skip drawn as one labelled edge (a zero-pad, a crop, a projection at block level).  Every IR edge
between two different cells becomes a drawn edge; edges on a skip keep the skip's kind.  Pure data in,
pure data out: `graphviz.py` turns a view into DOT.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Sequence

from resdsl.backends.graphviz_cells import Cell, Edge, Plan, View, cost, short
from resdsl.backends.graphviz_levels import PLANNERS
from resdsl.backends.graphviz_skips import SKIP_KINDS, Skip, find_skips
from resdsl.backends.graphviz_style import compact, stats
from resdsl.ir.graph import Graph
from resdsl.network import Network

__all__ = ["LEVELS", "Cell", "Edge", "View", "build_view", "connect"]

LEVELS = ("stage", "block", "op")


def build_view(net: Network, level: str, expand: bool = False) -> View:
    graph = net.graph
    skips = find_skips(graph)
    plan = PLANNERS[level](net, skips, expand)
    edges = connect(graph, skips, plan)
    if graph.heads:
        edges = _mark_heads(graph, plan, edges)
    drawn = {e.kind for e in edges} | {c.kind for c in plan.cells if c.kind}
    title = (f"{net.name}: {net.input_type} → {net.output_type} · {compact(net.params)} params · "
             f"{compact(net.macs)} MACs")
    return View(net.name, title, level, tuple(plan.cells), edges, _stage_boxes(plan), tuple(plan.groups.items()),
                tuple(k for k in (*SKIP_KINDS, "aux") if k in drawn), tuple(plan.notes), tuple(plan.same_rank))


def _stage_boxes(plan: Plan) -> tuple[tuple[str, str], ...]:
    """Stages drawn in a box, with the box's title: those of two drawn nodes or more, and those a
    `stages` row declares (so plain and residual networks side by side box the same stages)."""
    graph, net = plan.net.graph, plan.net
    declared = {s.name for s in graph.scopes if s.kind == "stage"}
    sizes = Counter(c.stage for c in plan.cells if c.stage is not None)
    boxes = []
    for stage, totals in net.by_stage.items():
        if sizes[stage] >= 2 or (sizes[stage] and stage in declared):
            parts = [stage, plan.stage_blocks.get(stage, ""), stats(None, totals.params, totals.macs)]
            boxes.append((stage, "  ·  ".join(p for p in parts if p)))
    return tuple(boxes)


# ---- aux heads -------------------------------------------------------------------------------

def _mark_heads(graph: Graph, plan: Plan, edges: tuple[Edge, ...]) -> tuple[Edge, ...]:
    """Aux heads are side branches: their cells take the aux colour (the output's says so) and the
    edges into and inside them are drawn as aux edges, light, so the main path stays straight."""
    in_head: set[str] = set()
    outputs: dict[str, str] = {}
    for head in graph.heads:
        cells = {plan.cell_of[n] for n in range(head.first, head.last + 1)} - {None}
        if plan.cell_of[head.source] in cells:  # folded into a main-path cell: leave it as drawn
            continue
        in_head |= cells
        key = plan.cell_of[head.output]
        if key is not None:
            outputs[key] = head.name
    if not in_head:
        return edges
    for i, cell in enumerate(plan.cells):
        if cell.key in in_head:
            lines = cell.lines + ((f"aux output {outputs[cell.key]} (training only)",) if cell.key in outputs else ())
            plan.cells[i] = replace(cell, kind="aux", lines=lines)
    return tuple(replace(e, kind="aux") if e.head in in_head and e.kind == "flow" else e for e in edges)


# ---- edges -----------------------------------------------------------------------------------

def connect(graph: Graph, skips: Sequence[Skip], plan: Plan) -> tuple[Edge, ...]:
    """Drawn edges between cells, merged where several IR edges join the same two cells."""
    on_skip: dict[int, dict[int, int]] = {}  # head -> tail -> the (first) skip the IR edge is on
    for index, skip in enumerate(skips):
        for tail, head in skip.links:
            on_skip.setdefault(head, {}).setdefault(tail, index)
    cell_of, member = plan.cell_of, plan.member
    shapes: dict[object, str] = {}  # a tensor type's text, made once (most edges carry one of a few)
    found: dict[tuple[str, str, str], list[str]] = {}
    for node in graph.nodes:
        links = on_skip.get(node.id)
        if links is None:  # the common case, on no skip: a plain flow edge unless inside a cell or a run
            head = cell_of[node.id]
            if head is None:
                continue
            at = member[node.id]
            for u in node.inputs:
                tail = cell_of[u]
                if tail is None or tail == head:
                    continue
                was = member[u]
                if was is not None and at is not None and was[0] == at[0] and was[1] != at[1]:
                    continue  # see _inside_run
                shape = graph.nodes[u].type
                text = shapes.get(shape)
                if text is None:
                    text = shapes[shape] = str(shape)
                if node.op.indices_input is not None and node.inputs[node.op.indices_input] == u:
                    _add(found, (tail, head, "flow"), ("indices", text))  # max-unpooling reads them
                else:
                    _add(found, (tail, head, "flow"), (text,))
            continue
        for u in node.inputs:
            index = links.get(u)
            if index in plan.hidden:
                index = None
            absorbed = index is not None and index in plan.absorbed
            if absorbed:
                skip = skips[index]
                if node.id != skip.merge:
                    continue  # the skip is drawn once, from its source to its merge
                ends = (skip.source, skip.merge)
            else:
                ends = (u, node.id)
            tail, head = cell_of[ends[0]], cell_of[ends[1]]
            # Most IR edges are inside a cell or a collapsed run: drop them before making a label.
            if tail is None or head is None or tail == head or _inside_run(plan, *ends):
                continue
            if absorbed:
                kind, label = skip.kind, _skip_label(graph, skip, plan)
            elif index is not None:
                skip = skips[index]
                kind = skip.kind
                label = ((_role_text(skip, plan),) if node.id == skip.merge else ()) + (str(graph.nodes[u].type),)
            elif node.op.indices_input is not None and node.inputs[node.op.indices_input] == u:
                kind, label = "flow", ("indices", str(graph.nodes[u].type))  # max-unpooling reads them
            else:
                kind, label = "flow", (str(graph.nodes[u].type),)
            _add(found, (tail, head, kind), label)
    return tuple(Edge(t, h, k, tuple(lines)) for (t, h, k), lines in found.items())


def _add(found: dict[tuple[str, str, str], list[str]], key: tuple[str, str, str], label: tuple[str, ...]) -> None:
    """The label lines of one more IR edge between two cells, each line once."""
    lines = found.setdefault(key, [])
    lines.extend(line for line in label if line not in lines)


def _inside_run(plan: Plan, a: int, b: int) -> bool:
    """An edge between two blocks of one ×N run: drawn once already, by the run's first block."""
    ma, mb = plan.member[a], plan.member[b]
    return ma is not None and mb is not None and ma[0] == mb[0] and ma[1] != mb[1]


def _skip_label(graph: Graph, skip: Skip, plan: Plan) -> tuple[str, ...]:
    """What a skip drawn as one edge carries: its role, the ops on it, their counts, the shape."""
    lines = [_role_text(skip, plan)]
    if skip.path:
        ops_text = " → ".join(short(graph.nodes[n].op) for n in skip.path)
        if ops_text.startswith(skip.role):
            lines = [ops_text + lines[0][len(skip.role):]]  # 'zero-pad 16→32, /2', not 'zero-pad' twice
        else:
            lines.append(ops_text)
        lines.append(stats(None, *cost(plan.net, skip.path)))
    end = skip.path[-1] if skip.path else skip.source
    lines.append(str(graph.nodes[end].type))
    return tuple(line for line in lines if line)


def _role_text(skip: Skip, plan: Plan) -> str:
    """The skip's role, with ×N when it stands for the skips of N collapsed blocks."""
    member = plan.member[skip.merge]
    count = plan.run_sizes[member[0]] if member is not None else 1
    return f"{skip.role} ×{count}" if count > 1 else skip.role
