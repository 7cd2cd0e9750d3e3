"""Parameters, MACs and element-wise work of a graph, from each op's own `cost` formula (`resdsl.ir.ops`).

Conventions (the ones the ResNet paper's "FLOPs" column and torchvision's "GFLOPS" column use):
  * MACs count multiply-accumulates of conv, up-conv and fc layers only, batch 1; biases are free.
  * FLOPs = 2 x MACs, the convention of `torch.utils.flop_counter`.
  * Everything else (batch norm, activations, pooling, adds, concats, ...) is counted separately as
    element operations by kind: one per output element (a pool: one per element of each window).
  * Parameters are trainable tensors; BN running statistics are buffers, counted apart.
  * Aux heads (training-time side outputs, `resdsl.ir.heads`): parameters and buffers count in the
    totals (they are in the state_dict, as torchvision's `num_params` counts Inception-v3's AuxLogits);
    MACs and element-wise work are those of an inference pass, which runs the main path alone.  Each
    head's own figures are in `Totals.heads`; `training_macs` adds them.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from math import prod

from resdsl.ir.cost import OpCost
from resdsl.ir.graph import Graph, Node
from resdsl.ir.ops import Op
from resdsl.ir.types import TensorType


def op_cost(graph: Graph, node: Node) -> OpCost:
    return _cost(node.op, tuple(graph.nodes[i].type for i in node.inputs), node.type)


@lru_cache(maxsize=4096)
def _cost(op: Op, inputs: tuple[TensorType, ...], out: TensorType) -> OpCost:
    # Repeated blocks repeat the same (op, shapes): memoised, counting 10,000 blocks stays fast.
    return op.cost(list(inputs), out)


def element_kind(node: Node) -> str:
    """The name element-wise work is reported under (`relu`, `bn`, `add`, ...)."""
    return node.op.element_kind


@dataclass(frozen=True)
class HeadTotals:
    """One aux head's own figures (a training-time side output)."""

    name: str
    params: int
    buffers: int
    macs: int
    elementwise: int

    @property
    def flops(self) -> int:
        return 2 * self.macs


@dataclass(frozen=True)
class Totals:
    params: int    # every parameter, aux heads included
    buffers: int   # likewise
    macs: int      # one inference pass: the main path
    by_kind: tuple[tuple[str, int], ...]  # element-wise work of the main path, by kind, sorted by name
    heads: tuple[HeadTotals, ...] = ()

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @property
    def training_macs(self) -> int:
        """MACs of a training forward pass: the main path and every aux head."""
        return self.macs + sum(h.macs for h in self.heads)

    @property
    def main_params(self) -> int:
        return self.params - sum(h.params for h in self.heads)


def totals(graph: Graph, costs: tuple[OpCost, ...]) -> Totals:
    by_kind: dict[str, int] = {}
    owner = graph.head_of if graph.heads else None
    heads = [[0, 0, 0, 0] for _ in graph.heads]
    macs = 0
    for node, cost in zip(graph.nodes, costs):
        if owner is not None and owner[node.id] >= 0:
            row = heads[owner[node.id]]
            row[0] += cost.params
            row[1] += cost.buffers
            row[2] += cost.macs
            row[3] += cost.elementwise
            continue
        macs += cost.macs
        if cost.elementwise:
            kind = node.op.element_kind  # element_kind(node), inlined: this runs for every node
            by_kind[kind] = by_kind.get(kind, 0) + cost.elementwise
    return Totals(params=sum(c.params for c in costs), buffers=sum(c.buffers for c in costs),
                  macs=macs, by_kind=tuple(sorted(by_kind.items())),
                  heads=tuple(HeadTotals(h.name, *row) for h, row in zip(graph.heads, heads)))


def costs_of(graph: Graph) -> tuple[OpCost, ...]:
    # Replayed blocks share their op objects and the builder shares equal types, so most nodes are
    # found by identity, without hashing an op's fields.  (Every key object lives as long as `graph`.)
    nodes = graph.nodes
    seen: dict[tuple[int, ...], OpCost] = {}
    out = []
    for node in nodes:
        inputs = node.inputs
        if len(inputs) == 1:  # most ops
            key = (id(node.op), id(node.type), id(nodes[inputs[0]].type))
        else:
            key = (id(node.op), id(node.type), *[id(nodes[i].type) for i in inputs])
        cost = seen.get(key)
        if cost is None:
            cost = seen[key] = op_cost(graph, node)
        out.append(cost)
    return tuple(out)


def tensor_elements(t: TensorType) -> int:
    return prod(t.shape)
