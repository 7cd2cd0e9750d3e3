"""The drawing as plain data — cells (drawn nodes), edges, the view — and the pieces every level uses
to build one: folding op chains into cells, absorbing skips into labelled edges, summaries."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Sequence

from resdsl.backends.graphviz_fold import Chain, adjunct_name, fold_chains, is_adjunct
from resdsl.backends.graphviz_skips import Skip
from resdsl.backends.graphviz_style import stats
from resdsl.ir import ops
from resdsl.ir.graph import Graph
from resdsl.network import Network

# The look of a drawn op by its role (`Op.role`); everything else is a plain "op".
_ROLES: dict[str, str] = {"input": "input", "merge": "merge"}


@dataclass(frozen=True)
class Cell:
    key: str
    role: str                       # input | op | merge | shortcut | block | stage
    title: str
    lines: tuple[str, ...] = ()
    stats: str = ""
    above: str = ""                 # what runs before the title op (pre-activation BN → ReLU →)
    stage: str | None = None        # the stage cluster it belongs to
    groups: tuple[str, ...] = ()    # the block boxes it sits in, outermost first (op level)
    op: type | None = None          # the class of the op that names it, for its fill
    kind: str | None = None         # the skip kind of a shortcut cell
    repeat: int = 1                 # ×N


@dataclass(frozen=True)
class Edge:
    tail: str
    head: str
    kind: str                       # "flow" or a skip kind
    label: tuple[str, ...]


@dataclass(frozen=True)
class View:
    name: str
    title: str
    level: str
    cells: tuple[Cell, ...]
    edges: tuple[Edge, ...]
    stage_boxes: tuple[tuple[str, str], ...]   # stage -> box title, for the stages drawn in a box
    group_titles: tuple[tuple[str, str], ...]
    kinds: tuple[str, ...]          # skip kinds drawn, in legend order
    notes: tuple[str, ...]          # legend notes on what was folded or collapsed
    same_rank: tuple[tuple[str, str], ...] = ()  # cells drawn level with each other


@dataclass
class Plan:
    """A view under construction: cells, and for every IR node its cell and run membership."""

    net: Network
    cells: list[Cell]
    cell_of: list[str | None]
    member: list[tuple[int, int] | None]
    absorbed: set[int] = field(default_factory=set)     # skips drawn as one edge (indices)
    hidden: set[int] = field(default_factory=set)       # skips drawn as plain flow (inside a stage node)
    run_sizes: dict[int, int] = field(default_factory=dict)  # run index -> number of blocks
    groups: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    stage_blocks: dict[str, str] = field(default_factory=dict)  # stage -> the one block it holds
    same_rank: list[tuple[str, str]] = field(default_factory=list)


# ---- shared by the levels ---------------------------------------------------------------------------

def short(op: ops.Op) -> str:
    return adjunct_name(op) if is_adjunct(op) else op.describe()


def cost(net: Network, nodes: Sequence[int]) -> tuple[int, int]:
    return sum(net.costs[n].params for n in nodes), sum(net.costs[n].macs for n in nodes)


def new_plan(net: Network) -> Plan:
    size = len(net.graph.nodes)
    return Plan(net, [], [None] * size, [None] * size)


def summary(graph: Graph, nodes: Sequence[int], limit: int = 3) -> str:
    """The ops that matter, in order ('1x1 conv, 64 → 3x3 conv, 64 → 1x1 conv, 256'), or counted
    by kind when there are too many to list ('6 convs · 1 pool · concat of 4')."""
    main = [graph.nodes[n] for n in nodes if not is_adjunct(graph.nodes[n].op)] or \
        [graph.nodes[n] for n in nodes]  # a stage of one batch norm is still worth naming
    if len(main) <= limit:
        return " → ".join(node.op.describe() for node in main)
    counts = Counter(node.op.kind for node in main if node.op.role != "merge")
    merges = [f"{node.op.kind} of {len(node.inputs)}" for node in main if node.op.role == "merge"]
    return " · ".join([f"{n} {kind}{'s' if n > 1 else ''}" for kind, n in counts.items()] + merges)


def chain_cell(plan: Plan, chain: Chain, key: str, shortcut_of: dict[int, Skip]) -> Cell:
    """One drawn op: the chain's core op, the folded BN/ReLU before or after it, its counts."""
    graph = plan.net.graph
    core = graph.nodes[chain.core]
    before = [adjunct_name(graph.nodes[n].op) for n in chain.nodes if n < chain.core]
    after = [adjunct_name(graph.nodes[n].op) for n in chain.nodes if n > chain.core]
    above = " → ".join(before) + " →" if before else ""
    lines = ["→ " + " → ".join(after)] if after else []
    if len(chain.nodes) > 1:
        note(plan, "BN, ReLU and dropout are folded into the op next to them (→ BN → ReLU)")
    skip = shortcut_of.get(chain.core)
    role = "shortcut" if skip else _ROLES.get(core.op.role, "op")
    title = f"{skip.role}: {core.op.describe()}" if skip else core.op.describe()
    shape = None if role == "input" else str(graph.nodes[chain.last].type)  # the title has it
    return Cell(key, role, title, tuple(lines), stats(shape, *cost(plan.net, chain.nodes)), above=above,
                stage=None if role == "input" else core.stage, op=type(core.op), kind=skip.kind if skip else None)


def note(plan: Plan, text: str) -> None:
    """A line for the legend, once."""
    if text not in plan.notes:
        plan.notes.append(text)


def place_chains(plan: Plan, nodes: Sequence[int], shortcut_of: dict[int, Skip]) -> None:
    for chain in fold_chains(plan.net.graph, nodes):
        key = f"n{chain.head}"
        plan.cells.append(chain_cell(plan, chain, key, shortcut_of))
        for n in chain.nodes:
            plan.cell_of[n] = key


def absorb(plan: Plan, skips: Sequence[Skip], wanted: Callable[[Skip], bool]) -> set[int]:
    """Mark the skips drawn as one labelled edge; return the nodes on them (which get no cell)."""
    nodes: set[int] = set()
    for index, skip in enumerate(skips):
        if skip.path and wanted(skip):
            plan.absorbed.add(index)
            nodes.update(skip.path)
    return nodes


def edge_op_only(graph: Graph) -> Callable[[Skip], bool]:
    """At op level, parameter-free shortcut ops (role "edge") become the label of their skip edge."""
    return lambda skip: all(graph.nodes[n].op.role == "edge" for n in skip.path)


def shortcuts(skips: Sequence[Skip], absorbed: set[int]) -> dict[int, Skip]:
    """Nodes on a skip that keep a cell of their own (a projection at op level), with their skip."""
    return {n: s for s in skips for n in s.path if n not in absorbed}
