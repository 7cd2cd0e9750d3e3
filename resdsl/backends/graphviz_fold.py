"""Folding straight chains of ops into one drawn node: `3x3 conv, 64` with `→ BN → ReLU` under it.

Batch norm, activations, dropout and drop-path ("adjuncts") join the op next to them when the link is
private (one consumer, one input, same scope), so every fork and merge — every skip — stays visible.
Post-activation chains (conv, BN, ReLU) fold forward onto the conv; pre-activation chains (BN, ReLU,
conv) fold onto the conv that follows them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Collection

from resdsl.ir import ops
from resdsl.ir.graph import Graph, Node

def is_adjunct(op: ops.Op) -> bool:
    """BN, activations, dropout: the op's drawing role says it folds into its neighbour."""
    return op.role == "adjunct"


def adjunct_name(op: ops.Op) -> str:
    return op.short()


@dataclass(frozen=True)
class Chain:
    """Consecutive nodes drawn as one: `core` gives the title, the others are listed before/after."""

    nodes: tuple[int, ...]
    core: int

    @property
    def head(self) -> int:
        return self.nodes[0]

    @property
    def last(self) -> int:
        return self.nodes[-1]


def fold_chains(graph: Graph, nodes: Collection[int], apart: Collection[int] = ()) -> tuple[Chain, ...]:
    """Partition `nodes` (ascending ids) into chains; a node in `apart` never joins a chain.

    A node joins the chain of its only input when that input has it as only consumer, both share
    a scope, and either it is an adjunct after the chain's core (post-activation), or the chain has
    no core yet (pre-activation: BN, ReLU, then the conv).
    """
    members = set(nodes)
    apart = set(apart)
    users = graph.users
    chains: list[list[int]] = []
    cores: list[int | None] = []
    chain_of: dict[int, int] = {}
    for nid in sorted(members):
        node = graph.nodes[nid]
        index = _joinable(graph, node, members, apart, users, chain_of, chains, cores)
        if index is None:
            chain_of[nid] = len(chains)
            chains.append([nid])
            cores.append(None if is_adjunct(node.op) else nid)
            continue
        chain_of[nid] = index
        chains[index].append(nid)
        if cores[index] is None and not is_adjunct(node.op):
            cores[index] = nid
    return tuple(Chain(tuple(c), core if core is not None else c[0]) for c, core in zip(chains, cores))


def _joinable(graph: Graph, node: Node, members: set[int], apart: set[int], users, chain_of: dict[int, int],
              chains: list[list[int]], cores: list[int | None]) -> int | None:
    if node.id in apart or len(node.inputs) != 1:
        return None
    prev = node.inputs[0]
    if prev not in members or prev in apart or users[prev] != (node.id,):
        return None
    if graph.nodes[prev].scope != node.scope or isinstance(graph.nodes[prev].op, ops.Input):
        return None
    index = chain_of[prev]
    core = cores[index]
    if core is None:
        return index  # still collecting pre-activation adjuncts
    if not is_adjunct(node.op):
        return None
    if core != chains[index][0]:
        return None  # a pre-activation chain ends at its core; what follows belongs to the next op
    return index
