"""The three levels of drawing, one planner each: which IR nodes make up which drawn cell.

op: every op (BN/ReLU folded), blocks boxed; block: one cell per block body and merge, identical
neighbours collapsed to ×N; stage: one cell per stage.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Callable, Sequence

from resdsl.backends.graphviz_cells import (Cell, Chain, Plan, absorb, chain_cell, cost, edge_op_only, new_plan,
                                            note, place_chains, shortcuts, summary)
from resdsl.backends.graphviz_fold import adjunct_name, fold_chains
from resdsl.backends.graphviz_skips import Skip
from resdsl.backends.graphviz_style import stats
from resdsl.backends.graphviz_units import Run, Unit, find_runs, find_units
from resdsl.ir.graph import Graph
from resdsl.network import Network

# ---- op level: every op ----------------------------------------------------------------------

def _op_plan(net: Network, skips: Sequence[Skip], expand: bool) -> Plan:
    graph = net.graph
    plan = new_plan(net)
    absorbed = absorb(plan, skips, edge_op_only(graph))
    place_chains(plan, [n.id for n in graph.nodes if n.id not in absorbed], shortcuts(skips, absorbed))
    _box_blocks(plan)
    if absorbed:
        note(plan, "zero-pad and crop shortcuts are written on their edge")
    return plan


def _box_blocks(plan: Plan) -> None:
    """Put each block's cells in a box, nested blocks (SE inside its residual block) in inner boxes,
    where a box tells something: around two cells or more, and fewer than the whole stage."""
    graph = plan.net.graph
    first: dict[str, int] = {}
    for n, key in enumerate(plan.cell_of):
        if key is not None:
            first.setdefault(key, n)
    blocks_of = {key: tuple(s for s in graph.scope_chain(graph.nodes[n].scope) if s.kind == "block")
                 for key, n in first.items()}
    size = Counter(s.id for blocks in blocks_of.values() for s in blocks)
    stage_size = Counter(c.stage for c in plan.cells)
    for i, cell in enumerate(plan.cells):
        boxes = [s for s in blocks_of[cell.key] if 2 <= size[s.id] < stage_size[cell.stage]]
        whole = [s for s in blocks_of[cell.key] if size[s.id] == stage_size[cell.stage] and s.block]
        if whole and cell.stage is not None:
            plan.stage_blocks.setdefault(cell.stage, str(whole[0].block))  # named on the stage's box
        for scope in boxes:
            plan.groups.setdefault(f"g{scope.id}", f"{_from_stage(scope)} · {scope.block}")
        plan.cells[i] = replace(cell, groups=tuple(f"g{s.id}" for s in boxes))


# ---- block level: one node per block, identical neighbours collapsed ---------------------------

def _block_plan(net: Network, skips: Sequence[Skip], expand: bool) -> Plan:
    graph = net.graph
    plan = new_plan(net)
    units, index_of = find_units(graph, skips)
    principal = {u.merge for u in units if u.merge is not None}
    # A block's own skip becomes one labelled edge; a skip outside any block is drawn as at op level.
    absorbed = absorb(plan, skips, lambda s: s.merge in principal or edge_op_only(graph)(s))
    loose = [n.id for n in graph.nodes if index_of[n.id] is None and n.id not in absorbed]
    place_chains(plan, loose, shortcuts(skips, absorbed))
    roles_at: dict[int, list[str]] = {}  # merge node -> the roles of the skips ending there
    for skip in skips:
        roles_at.setdefault(skip.merge, []).append(skip.role)
    for r, run in enumerate(find_runs(graph, units, index_of, expand)):
        _place_run(plan, r, run, roles_at, absorbed)
    first_node: dict[str, int] = {}
    for n, key in enumerate(plan.cell_of):
        if key is not None:
            first_node.setdefault(key, n)
    plan.cells.sort(key=lambda c: first_node[c.key])  # graph order, so clusters and ranks read top-down
    if absorbed:
        note(plan, "shortcut ops (1x1 conv, zero-pad, crop) are written on their edge")
    return plan


def _place_run(plan: Plan, r: int, run: Run, roles_at: dict[int, list[str]], absorbed: set[int]) -> None:
    """A run's cells: the block body, the merge its skip ends in, and what follows the merge."""
    graph = plan.net.graph
    first = run.units[0]
    parts = _split(graph, first, absorbed)
    key = f"b{first.first}"
    keys = (key, f"{key}m", f"{key}p")
    # The cell of each position in a block, worked out on the first and applied to every block of the run.
    key_at: list[str | None] = [None] * len(first.nodes)
    for part, part_key in zip(parts, keys):
        for i in part:
            key_at[i] = part_key
    cell_of, member = plan.cell_of, plan.member
    for k, unit in enumerate(run.units):
        at = (r, k)
        if unit.last - unit.first + 1 == len(unit.nodes) == len(key_at):  # contiguous (most are): slices
            # (a unit's nodes have no cell yet, so a position without a key stays None)
            cell_of[unit.first:unit.last + 1] = key_at
            member[unit.first:unit.last + 1] = [at] * len(key_at)
            continue
        for n, part_key in zip(unit.nodes, key_at):
            if part_key is not None:
                cell_of[n] = part_key
            member[n] = at
    body, merge, post = ([first.nodes[i] for i in sorted(part)] for part in parts)
    scope = graph.scopes[first.scope]
    last = graph.scopes[run.units[-1].scope]
    count = plan.run_sizes[r] = run.count
    if count > 1:
        note(plan, "×N: N identical consecutive blocks drawn once (--expand draws each)")
    each = " each" if count > 1 else ""
    name = f"{scope.block} ×{count}" if count > 1 else str(scope.block)
    # Only the skips ending in this body (not a scan of every skip per block: that was quadratic).
    inner = Counter(role for n in body for role in roles_at.get(n, ()))
    inner_line = "inner skip: " + ", ".join(inner) if inner else ""
    titled = False
    for part_nodes, part_key in ((body, keys[0]), (post, keys[2])):
        if not part_nodes:
            continue
        lines = (_path_range(_from_stage(scope), _from_stage(last)), summary(graph, part_nodes), inner_line) \
            if not titled \
            else ()
        title = name if not titled else summary(graph, part_nodes)
        plan.cells.append(Cell(part_key, "block", title, tuple(line for line in lines if line),
                               stats(str(graph.nodes[part_nodes[-1]].type), *cost(plan.net, part_nodes), each),
                               stage=scope.stage, repeat=count))
        titled, inner_line = True, ""
    if merge:
        op = graph.nodes[first.merge].op
        after = [adjunct_name(graph.nodes[n].op) for n in merge[1:]]
        plan.cells.append(Cell(keys[1], "merge", op.describe(), ("→ " + " → ".join(after),) if after else (),
                               str(graph.nodes[merge[-1]].type), stage=scope.stage, op=type(op)))


def _split(graph: Graph, unit: Unit, absorbed: set[int]) -> tuple[set[int], set[int], set[int]]:
    """Positions (within the unit) of the body, the merge with the ops folded after it, the rest."""
    kept = [n for n in unit.nodes if n not in absorbed]
    position = {n: i for i, n in enumerate(unit.nodes)}
    if unit.merge is None:
        return {position[n] for n in kept}, set(), set()
    chain = next(c for c in fold_chains(graph, kept) if unit.merge in c.nodes)
    merge = {position[n] for n in chain.nodes}
    body = {position[n] for n in kept if n < unit.merge and position[n] not in merge}
    post = {position[n] for n in kept if n > unit.merge and position[n] not in merge}
    return body, merge, post


def _from_stage(scope) -> str:
    """A block's path from its stage on: 'denseblock1.denselayer2', not 'features.denseblock1...'."""
    parts = scope.path.split(".")
    return ".".join(parts[parts.index(scope.stage):]) if scope.stage in parts else scope.path


def _path_range(first: str, last: str) -> str:
    """'layer3.1', 'layer3.35' -> 'layer3.1–35'."""
    if first == last:
        return first
    head, _, tail = last.rpartition(".")
    return f"{first}–{tail}" if head and first.startswith(head + ".") else f"{first} – {last}"


# ---- stage level: one node per stage ----------------------------------------------------------

def _stage_plan(net: Network, skips: Sequence[Skip], expand: bool) -> Plan:
    graph = net.graph
    plan = new_plan(net)
    stage_of = [n.stage for n in graph.nodes]
    order = {stage: i for i, stage in enumerate(graph.stages)}

    def jumps(skip: Skip) -> bool:
        return order[stage_of[skip.merge]] - order.get(stage_of[skip.source], -1) > 1

    # A skip over whole stages (a U-Net bridge) is drawn as an edge; the others are inside a stage
    # node or between neighbours, where the flow edge already says it.
    absorbed = absorb(plan, skips, jumps)
    plan.hidden.update(i for i, s in enumerate(skips) if not jumps(s))
    units, index_of = find_units(graph, skips)
    plan.cell_of[0] = "n0"
    plan.cells.append(chain_cell(plan, Chain((0,), 0), "n0", {}))
    members: dict[str, list[int]] = {stage: [] for stage in graph.stages}
    for node in graph.nodes[1:]:
        members[node.stage].append(node.id)
    for i, stage in enumerate(graph.stages):
        nodes = members[stage]
        for n in nodes:
            if n not in absorbed:
                plan.cell_of[n] = f"s{i}"
        totals = net.by_stage[stage]
        lines = (_stage_contents(graph, nodes, units, index_of), _skip_counts(skips, stage_of, stage))
        plan.cells.append(Cell(f"s{i}", "stage", stage, tuple(line for line in lines if line),
                               stats(str(graph.nodes[nodes[-1]].type), totals.params, totals.macs)))
    # Each encoder level beside the decoder level it feeds: U-Net drawn as a U.
    for index in sorted(plan.absorbed):
        skip = skips[index]
        pair = (plan.cell_of[skip.source], plan.cell_of[skip.merge])
        if skip.kind == "bridge" and None not in pair and pair not in plan.same_rank:
            plan.same_rank.append(pair)
    return plan


def _stage_contents(graph: Graph, nodes: Sequence[int], units: Sequence[Unit],
                    index_of: Sequence[int | None]) -> str:
    """'basic ×2', 'dense_layer ×6', or the ops of a stage without blocks."""
    blocks: list[list] = []
    seen: set[int] = set()
    for n in nodes:
        u = index_of[n]
        if u is None or u in seen:
            continue
        seen.add(u)
        block = graph.scopes[units[u].scope].block
        if blocks and blocks[-1][0] == block:
            blocks[-1][1] += 1
        else:
            blocks.append([block, 1])
    parts = [f"{block} ×{n}" if n > 1 else str(block) for block, n in blocks]
    loose = [n for n in nodes if index_of[n] is None]
    if loose:
        parts.append(summary(graph, loose))
    return " + ".join(p for p in parts if p)


def _skip_counts(skips: Sequence[Skip], stage_of: Sequence[str], stage: str) -> str:
    counts = Counter(s.role for s in skips if stage_of[s.merge] == stage)
    return "skips: " + ", ".join(f"{n} {role}" for role, n in counts.items()) if counts else ""


PLANNERS: dict[str, Callable[[Network, Sequence[Skip], bool], Plan]] = {
    "stage": _stage_plan,
    "block": _block_plan,
    "op": _op_plan,
}
