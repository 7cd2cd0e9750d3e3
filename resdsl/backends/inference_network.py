"""The inference lowering pass: a checked network -> the network an eval-mode forward needs (no torch:
`resdsl compile --inference --format py` needs none).

  * every batch norm that directly follows a conv or a fully connected layer (the layer's only reader)
    is folded into it: the layer gains a bias, the BN node disappears;
  * dropout disappears (the identity at test time);
  * drop-path disappears where it is the identity at test time (modes row and batch) and becomes a
    constant `scale` by the survival probability where it is not (mode paper, Huang et al. 2016).

Everything else is kept, with its module path: the folded network's `state_dict` keys are the original's
minus the folded BNs' (each folded layer has a `bias`).  `Fold` records what moved where, so a back end
can fold trained weights (resdsl/backends/inference.py).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from resdsl.analysis.cost import costs_of, totals
from resdsl.analysis.memory import activation_memory
from resdsl.ir import ops
from resdsl.ir.graph import Graph, Node
from resdsl.ir.init import InitPlan

FOLDS_INTO = (ops.Conv, ops.Linear)  # layers whose output channels a BN's affine map can be folded into


@dataclass(frozen=True)
class Fold:
    """The BN at `bn` folded into the layer at `layer` (a conv or linear); `had_bias`: the layer had a
    bias before (it has one after)."""

    layer: str
    bn: str
    eps: float
    had_bias: bool


@dataclass(frozen=True)
class Lowering:
    network: Network
    folds: tuple[Fold, ...]
    dropped: tuple[str, ...]   # paths of the dropout / drop-path nodes removed
    scaled: tuple[str, ...]    # paths of the paper-mode drop-paths that became a constant scale


def inference_network(net: Network) -> Lowering:
    graph = net.graph
    users = graph.users
    forward: dict[int, int] = {}     # a removed node -> the node whose value takes its place
    new_ops: dict[int, ops.Op] = {}
    folds: list[Fold] = []
    dropped: list[str] = []
    scaled: list[str] = []
    # Only what the eval output reads: training-time auxiliary heads (GoogLeNet's aux1, aux2) go.
    live = {0, graph.output}
    for node in reversed(graph.nodes):
        if node.id in live:
            live.update(node.inputs)
    for node in graph.nodes:
        op = node.op
        if node.id not in live:
            continue
        if isinstance(op, ops.BatchNorm) and len(node.inputs) == 1:
            src = graph.nodes[node.inputs[0]]
            if isinstance(src.op, FOLDS_INTO) and users[src.id] == (node.id,) and src.id not in new_ops \
                    and src.id != graph.output:
                new_ops[src.id] = replace(src.op, bias=True)
                forward[node.id] = src.id
                folds.append(Fold(src.path, node.path, op.eps, bool(src.op.bias)))
        elif isinstance(op, ops.Dropout):
            forward[node.id] = node.inputs[0]
            dropped.append(node.path)
        elif isinstance(op, ops.DropPath):
            if op.mode == "paper" and op.survival < 1.0:
                new_ops[node.id] = ops.Activation("scale", (("factor", op.survival),))
                scaled.append(node.path)
            else:
                forward[node.id] = node.inputs[0]
                dropped.append(node.path)
    if not forward and not new_ops and len(live) == len(graph.nodes) and not getattr(graph, "heads", ()):
        return Lowering(net, (), (), ())
    new_id: dict[int, int] = {}
    nodes: list[Node] = []

    def value(i: int) -> int:
        while i in forward:
            i = forward[i]
        return new_id[i]

    for node in graph.nodes:
        if node.id in forward or node.id not in live:
            continue
        new_id[node.id] = len(nodes)
        nodes.append(Node(len(nodes), new_ops.get(node.id, node.op), tuple(value(i) for i in node.inputs), node.type,
                          node.name, node.path, node.scope, node.stage, node.span))
    extra = {"heads": (), "order": None} if hasattr(graph, "heads") else {}
    folded = replace(graph, nodes=tuple(nodes), output=value(graph.output), **extra)
    costs = costs_of(folded)
    # Budgets are the spec's, checked on the network it describes; the weights come from folding, not rules.
    lowered = replace(net, graph=folded, costs=costs, totals=totals(folded, costs), memory=activation_memory(folded),
                      budgets=(), init=InitPlan())
    return Lowering(lowered, tuple(folds), tuple(dropped), tuple(scaled))
