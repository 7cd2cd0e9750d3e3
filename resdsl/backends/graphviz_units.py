"""Block instances ("units") of a graph and runs of identical consecutive ones, for the block view.

A node's unit is the outermost block scope on its scope chain that holds ops of its own: a block that
only contains other blocks (DenseNet's dense_block holding dense layers) is a container and is looked
through; groups are always looked through.  Nodes under no such block (a stem, a head) have no unit.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from resdsl.backends.graphviz_skips import Skip
from resdsl.ir import ops
from resdsl.ir.graph import Graph


@dataclass(frozen=True)
class Unit:
    scope: int                    # the block scope
    nodes: tuple[int, ...]        # ascending
    merge: int | None             # the merge the block's main skip ends in, if it has one

    @property
    def first(self) -> int:
        return self.nodes[0]

    @property
    def last(self) -> int:
        return self.nodes[-1]


@dataclass(frozen=True)
class Run:
    """Consecutive units with the same block, shapes and structure, each feeding only the next."""

    units: tuple[Unit, ...]

    @property
    def count(self) -> int:
        return len(self.units)


def unit_scopes(graph: Graph) -> tuple[int | None, ...]:
    """For each node, the scope id of its unit, or None."""
    owner = _owning_blocks(graph)
    holds_ops = {owner[n.scope] for n in graph.nodes if owner[n.scope] is not None}
    cache: dict[int, int | None] = {}

    def unit_of(scope_id: int) -> int | None:
        if scope_id not in cache:
            found = None
            for scope in graph.scope_chain(scope_id):
                if scope.kind == "block" and scope.id in holds_ops:
                    found = scope.id
                    break
            cache[scope_id] = found
        return cache[scope_id]

    return tuple(unit_of(n.scope) for n in graph.nodes)


def _owning_blocks(graph: Graph) -> tuple[int | None, ...]:
    """For each scope, the nearest block at or above it (groups belong to the block around them)."""
    owner: list[int | None] = []
    for scope in graph.scopes:  # parents come before children
        if scope.kind == "block":
            owner.append(scope.id)
        elif scope.kind == "group" and scope.parent is not None:
            owner.append(owner[scope.parent])
        else:
            owner.append(None)
    return tuple(owner)


def find_units(graph: Graph, skips: Sequence[Skip]) -> tuple[tuple[Unit, ...], tuple[int | None, ...]]:
    """The units in graph order, and for each node the index of its unit (or None)."""
    scope_of = unit_scopes(graph)
    members: dict[int, list[int]] = {}
    for node in graph.nodes:
        if scope_of[node.id] is not None:
            members.setdefault(scope_of[node.id], []).append(node.id)
    merges = {skip.merge for skip in skips}
    units = []
    for scope, nodes in sorted(members.items(), key=lambda kv: kv[1][0]):
        # The block's main skip is its last skip-bearing merge (SE's scale comes before the add).
        own = [n for n in nodes if n in merges]
        merge = own[-1] if own else None
        units.append(Unit(scope, tuple(nodes), merge))
    index_of: list[int | None] = [None] * len(graph.nodes)
    for i, unit in enumerate(units):
        for n in unit.nodes:
            index_of[n] = i
    return tuple(units), tuple(index_of)


def find_runs(graph: Graph, units: Sequence[Unit], index_of: Sequence[int | None],
              expand: bool = False) -> tuple[Run, ...]:
    """Group consecutive identical units into runs (every run has one unit when `expand`)."""
    runs: list[list[Unit]] = []
    for i, unit in enumerate(units):
        if (not expand and runs and _same_structure(graph, units[i - 1], unit)
                and _feeds_only(graph, units[i - 1], unit, index_of, i)):
            runs[-1].append(unit)
        else:
            runs.append([unit])
    return tuple(Run(tuple(r)) for r in runs)


def _same_structure(graph: Graph, a: Unit, b: Unit) -> bool:
    """What must match for two blocks to be drawn as one ×N: block, stage, shapes and every op with
    its wiring (inputs from outside a block matched by order of first use).  Compared pairwise with an
    early exit rather than by building signatures: a 10,000-block run compares 70,000 node pairs."""
    if len(a.nodes) != len(b.nodes):
        return False
    sa, sb = graph.scopes[a.scope], graph.scopes[b.scope]
    if sa.block != sb.block or sa.stage != sb.stage:
        return False
    nodes = graph.nodes
    pos_a, pos_b = _positions(a), _positions(b)
    outside: dict[int, int] = {}  # a's outside input -> b's, as first used
    for na, nb in zip(a.nodes, b.nodes):
        x, y = nodes[na], nodes[nb]
        # Replayed blocks share their op and type objects: `is` settles most pairs without a field compare.
        if (len(x.inputs) != len(y.inputs) or (x.type is not y.type and x.type != y.type)
                or (x.op is not y.op and _structural(x.op) != _structural(y.op))):
            return False
        for i, j in zip(x.inputs, y.inputs):
            inner_i, inner_j = pos_a.get(i), pos_b.get(j)
            if inner_i is None and inner_j is None:
                if outside.setdefault(i, j) != j:
                    return False
            elif inner_i != inner_j:
                return False
    return len(set(outside.values())) == len(outside)


class _Span:
    """Positions in a contiguous unit, answered by subtraction (a `dict.get` look-alike)."""

    __slots__ = ("first", "last")

    def __init__(self, first: int, last: int):
        self.first, self.last = first, last

    def get(self, n: int) -> int | None:
        return n - self.first if self.first <= n <= self.last else None


def _positions(unit: Unit) -> "_Span | dict[int, int]":
    """A node's position in the unit (`.get(n)`, None outside it); no dict for a contiguous unit."""
    first, last = unit.nodes[0], unit.nodes[-1]
    if last - first + 1 == len(unit.nodes):
        return _Span(first, last)
    return {n: i for i, n in enumerate(unit.nodes)}


def _structural(op: ops.Op) -> object:
    """The op as far as structure goes: stochastic depth's survival rate falls linearly from block to
    block, but the blocks are the same."""
    return type(op) if isinstance(op, ops.DropPath) else op


def _feeds_only(graph: Graph, before: Unit, after: Unit, index_of: Sequence[int | None], after_index: int) -> bool:
    """`after` reads nothing but `before`'s output, and nothing outside the two reads any of `before`
    (a U-Net encoder level feeding a far decoder must stay visible)."""
    nodes, users, last = graph.nodes, graph.users, before.last
    reads_before = False
    for n in after.nodes:
        for i in nodes[n].inputs:
            if index_of[i] != after_index:
                if i != last:
                    return False
                reads_before = True
    if not reads_before:
        return False
    before_index = index_of[before.first]
    for n in before.nodes:
        allowed = after_index if n == last else before_index
        for u in users[n]:
            if index_of[u] != allowed:
                return False
    return True
