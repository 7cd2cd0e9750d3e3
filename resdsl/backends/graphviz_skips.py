"""The skip connections of a checked graph, each with its kind.

A skip is an input of a merge node (add, concat, mul, highway gated sum) that bypasses the merge's
main branch.  Walking back from each merge input along single-consumer links stops at the fork, the
tensor the branches share; the ops passed on the way (none, a zero-pad, a 1x1 projection, a crop, a
gate) say what kind of skip it is.  Reads only the IR: nothing here knows about drawing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from resdsl.ir import ops
from resdsl.ir.graph import Graph, Node

# Skip kinds, in legend order.  `role` (below) is the finer word printed on the edge.
SKIP_KINDS = ("identity", "zeropad", "projection", "gated", "dense", "bridge", "scale")

# A branch longer than this is a main path, never a shortcut; the cap also bounds the walk.
_SHORTCUT_LIMIT = 4
_WALK_LIMIT = 16


@dataclass(frozen=True)
class Skip:
    kind: str               # one of SKIP_KINDS: picks the colour and style
    role: str               # what the edge is called: identity, zero-pad, projection, gate, carry, ...
    source: int             # the node whose output the skip starts from (the fork)
    merge: int              # the merge node it ends in
    path: tuple[int, ...]   # ops on the skip between source and merge, in order (often none)

    @property
    def links(self) -> tuple[tuple[int, int], ...]:
        """The IR edges (tail, head) the skip runs along."""
        chain = (self.source, *self.path, self.merge)
        return tuple(zip(chain, chain[1:]))


@dataclass(frozen=True)
class Branch:
    path: tuple[int, ...]  # nodes from just after the fork to the merge input, in order
    fork: int
    long: bool             # the walk hit its cap: certainly a main branch


def branch_of(graph: Graph, start: int) -> Branch:
    """Walk back from a merge input while each node has one input and one consumer."""
    users = graph.users
    path: list[int] = []
    node = start
    while len(users[node]) == 1 and len(graph.nodes[node].inputs) == 1:
        if len(path) == _WALK_LIMIT:
            return Branch(tuple(reversed(path)), node, True)
        path.append(node)
        node = graph.nodes[node].inputs[0]
    return Branch(tuple(reversed(path)), node, False)


def find_skips(graph: Graph) -> tuple[Skip, ...]:
    """Every skip of the graph, ordered by merge node then input."""
    found: list[Skip] = []
    for node in graph.nodes:
        classify = _MERGE_RULES.get(type(node.op))
        if classify is not None and len(node.inputs) >= 2:
            branches = [branch_of(graph, i) for i in node.inputs]
            found.extend(classify(graph, node, branches))
    return tuple(found)


# ---- one rule per merge op -------------------------------------------------------------------

# What the ops on a short shortcut make of it, first match wins.
_PATH_MARKERS: tuple[tuple[type, str, str], ...] = (
    (ops.ZeroPadShortcut, "zeropad", "zero-pad"),
    (ops.Crop, "bridge", "crop & concat"),
    (ops.Conv, "projection", "projection"),
)
# Ops that may sit on a shortcut; anything else makes the branch a real branch.
_SHORTCUT_OPS = (ops.ZeroPadShortcut, ops.Crop, ops.Conv, ops.BatchNorm, ops.Pool, ops.AdaptivePool)


def _bypasses(graph: Graph, branch: Branch) -> bool:
    """The branch starts at a real fork: its source also feeds something else (the main branch).
    A walk that stopped at a merge with one consumer is the end of a computation, not a bypass."""
    return not branch.long and len(graph.users[branch.fork]) > 1


def _is_shortcut(graph: Graph, branch: Branch) -> bool:
    return (_bypasses(graph, branch) and len(branch.path) <= _SHORTCUT_LIMIT
            and all(isinstance(graph.nodes[n].op, _SHORTCUT_OPS) for n in branch.path))


def _marker(graph: Graph, branch: Branch) -> tuple[str, str] | None:
    for op_class, kind, role in _PATH_MARKERS:
        if any(isinstance(graph.nodes[n].op, op_class) for n in branch.path):
            return kind, role
    return None


def _add_rule(graph: Graph, node: Node, branches: list[Branch]) -> list[Skip]:
    shortcut = [_is_shortcut(graph, b) for b in branches]
    # The main branch: not shortcut-like if one is not, else the longest; ties go to the first input
    # (the IR's convention for residual adds).
    main = max(range(len(branches)), key=lambda i: (not shortcut[i], branches[i].long, len(branches[i].path), -i))
    skips = []
    for i, branch in enumerate(branches):
        if i == main or not shortcut[i]:
            continue
        kind, role = _marker(graph, branch) or ("identity", "identity")
        skips.append(Skip(kind, role, branch.fork, node.id, branch.path))
    return skips


def _concat_rule(graph: Graph, node: Node, branches: list[Branch]) -> list[Skip]:
    """Dense connectivity concatenates the input itself; U-Net concatenates a crop of an encoder map.
    Other inputs (inception's branches) are ordinary branches, not skips."""
    if all(not b.path for b in branches):
        return []
    skips = []
    for branch in branches:
        if not branch.path and _bypasses(graph, branch):
            skips.append(Skip("dense", "dense", branch.fork, node.id, ()))
        elif _is_shortcut(graph, branch) and _marker(graph, branch) == ("bridge", "crop & concat"):
            skips.append(Skip("bridge", "crop & concat", branch.fork, node.id, branch.path))
    return skips


def _mul_rule(graph: Graph, node: Node, branches: list[Branch]) -> list[Skip]:
    """Squeeze-and-excitation style: the input itself, scaled by what the other branch computes."""
    if all(not b.path for b in branches):
        return []
    return [Skip("scale", "scale", b.fork, node.id, ()) for b in branches if not b.path and _bypasses(graph, b)]


def _mean_rule(graph: Graph, node: Node, branches: list[Branch]) -> list[Skip]:
    """FractalNet's joins average columns of convs: ordinary branches.  An input taken as it is (a
    branch with no ops that bypasses the others) is an identity skip."""
    return [Skip("identity", "identity", b.fork, node.id, ()) for b in branches if not b.path and _bypasses(graph, b)]


def _gated_rule(graph: Graph, node: Node, branches: list[Branch]) -> list[Skip]:
    """Highway (h, x, t): x is carried by 1 - T, t is the gate computed from x."""
    skips = []
    if len(branches) == 3:
        carry, gate = branches[1], branches[2]
        skips.append(Skip("gated", "carry", carry.fork, node.id, carry.path))
        skips.append(Skip("gated", "gate", gate.fork, node.id, gate.path))
    return skips


_MERGE_RULES: dict[type, Callable[[Graph, Node, list[Branch]], list[Skip]]] = {
    ops.Add: _add_rule,
    ops.Concat: _concat_rule,
    ops.Mul: _mul_rule,
    ops.Mean: _mean_rule,
    ops.GatedSum: _gated_rule,
}

MERGE_OPS = tuple(_MERGE_RULES)
