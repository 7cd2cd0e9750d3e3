"""Block instances ("units") of a graph and runs of identical consecutive ones, for the block view.

A node's unit is the outermost block scope on its scope chain that holds ops of its own: a block that
only contains other blocks (DenseNet's dense_block holding dense layers) is a container and is looked
through; groups are always looked through.  Nodes under no such block (a stem, a head) have no unit.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from operator import attrgetter
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
    node_scopes = [n.scope for n in graph.nodes]
    holds_ops = {owner[s] for s in set(node_scopes)} - {None}
    # The outermost op-holding block on each scope's chain, worked out top-down (parents come first).
    unit: list[int | None] = []
    for scope in graph.scopes:
        above = unit[scope.parent] if scope.parent is not None else None
        unit.append(above if above is not None else
                    scope.id if scope.kind == "block" and scope.id in holds_ops else None)
    return tuple([unit[s] for s in node_scopes])


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
    # Units are mostly contiguous: gather their nodes a stretch of equal scopes at a time.
    members: dict[int, list[int]] = {}
    starts = [0, *(n for n in range(1, len(scope_of)) if scope_of[n] != scope_of[n - 1])]
    for start, end in zip(starts, [*starts[1:], len(scope_of)]):
        if scope_of[start] is not None:
            members.setdefault(scope_of[start], []).extend(range(start, end))
    # The block's main skip is its last skip-bearing merge (SE's scale comes before the add).
    last_merge: dict[int, int] = {}
    for merge in sorted({skip.merge for skip in skips}):
        if scope_of[merge] is not None:
            last_merge[scope_of[merge]] = merge
    units = tuple(Unit(scope, tuple(nodes), last_merge.get(scope))
                  for scope, nodes in sorted(members.items(), key=lambda kv: kv[1][0]))
    index_of: list[int | None] = [None] * len(graph.nodes)
    for i, unit in enumerate(units):
        if unit.last - unit.first + 1 == len(unit.nodes):
            index_of[unit.first:unit.last + 1] = [i] * len(unit.nodes)
        else:
            for n in unit.nodes:
                index_of[n] = i
    return units, tuple(index_of)


def find_runs(graph: Graph, units: Sequence[Unit], index_of: Sequence[int | None],
              expand: bool = False) -> tuple[Run, ...]:
    """Group consecutive identical units into runs (every run has one unit when `expand`)."""
    if expand:
        return tuple(Run((unit,)) for unit in units)
    layout = _Layout(graph)
    runs: list[list[Unit]] = []
    for i, unit in enumerate(units):
        if runs and layout.repeats(units[i - 1], unit, index_of, i):
            runs[-1].append(unit)
        else:
            runs.append([unit])
    return tuple(Run(tuple(r)) for r in runs)


class _Layout:
    """Per-node facts gathered once per graph (C-level maps), so comparing two neighbouring blocks is a
    few slice compares — replayed blocks share their op and type objects, so `==` settles on identity —
    rather than a walk over their nodes.  What the quick compare cannot settle is walked as before."""

    def __init__(self, graph: Graph):
        nodes = graph.nodes
        self.graph = graph
        self.users = graph.users
        self.ops = list(map(attrgetter("op"), nodes))
        if any(issubclass(kind, ops.DropPath) for kind in set(map(type, self.ops))):
            self.ops = [_structural(op) for op in self.ops]
        self.types = list(map(attrgetter("type"), nodes))
        self.inputs = list(map(attrgetter("inputs"), nodes))
        self._offsets: list | None = None

    def repeats(self, before: Unit, after: Unit, index_of: Sequence[int | None], after_index: int) -> bool:
        """`after` is drawn folded into `before`'s ×N: the same structure, fed only by `before`."""
        first, size = after.first, len(after.nodes)
        start, last = before.first, before.last
        if not (last + 1 == first and last - start + 1 == size and after.last - first + 1 == size):
            # blocks with gaps or loose ops between them: the general check
            return _same_structure(self.graph, before, after) and _feeds_only(self.graph, before, after,
                                                                              index_of, after_index)
        sa, sb = self.graph.scopes[before.scope], self.graph.scopes[after.scope]
        end = first + size
        if (sa.block != sb.block or sa.stage != sb.stage or self.ops[start:first] != self.ops[first:end]
                or self.types[start:first] != self.types[first:end]):
            return False
        # `after` reads only `before`'s output (nothing earlier, and that), and nothing but `after` reads
        # `before` (a U-Net encoder level feeding a far decoder must stay visible): _feeds_only, for
        # blocks side by side.
        if (min(chain.from_iterable(self.inputs[first:end])) != last
                or max(self.users[last], default=-1) > after.last
                or max(chain.from_iterable(self.users[start:last]), default=-1) > last):
            return False
        # The same wiring: every input the same distance back.  An input from outside then maps to its
        # counterpart one block on, as _same_structure's order-of-first-use pairing asks; blocks wired
        # otherwise (a first block reading a far tensor) are compared in full.
        offsets = self._offsets if self._offsets is not None else self._distances()
        return offsets[start:first] == offsets[first:end] or _same_structure(self.graph, before, after)

    def _distances(self) -> list:
        """For each node, how far back its input is (a tuple of distances when it has several)."""
        self._offsets = [n - x[0] if len(x) == 1 else tuple([n - i for i in x]) for n, x in enumerate(self.inputs)]
        return self._offsets


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
