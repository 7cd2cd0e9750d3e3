"""Scope analysis for the code generator: each scope of the graph as a `Unit` (its nodes, the values it reads
and gives), whether it can be called as one step (`is_function`), and how many levels of classes lie below it
(`class_heights`, so classes are finished lowest first).  Nothing here imports torch.
"""
from __future__ import annotations

from dataclasses import dataclass

from resdsl.ir.graph import Graph, Scope


CLASS, SEQUENTIAL, GROUP, INLINE, ROOT = "class", "sequential", "group", "inline", "root"

# Stateless layers with only a position for a name (`layer1.0.2`, a ReLU) are written as function calls
# in a forward (`F.relu(out, inplace=True)`) rather than as modules called `getattr(self, "2")`.
# (The op classes of `pycode_ops.FUNCTION_LAYER_CODE`.)


@dataclass
class Unit:
    scope: Scope
    nodes: list[int]            # every node in the scope and its sub-scopes, in order
    inputs: tuple[int, ...]     # nodes outside read inside, in order
    outputs: tuple[int, ...]    # nodes inside read outside (or the network's output)
    first_layer: int | None     # the first layer node inside: the registration order of modules
    kind: str = INLINE
    # a block class passing max-pool indices (ENet): pools outside whose indices it reads (`forward(x, indices)`),
    # pools inside whose indices are read outside (`return x, indices`); not among `inputs` / `outputs`
    index_in: tuple[int, ...] = ()
    index_out: tuple[int, ...] = ()


def analyse(graph: Graph) -> list[Unit]:
    members: list[list[int]] = [[] for _ in graph.scopes]
    for node in graph.nodes:
        for scope in graph.scope_chain(node.scope):
            members[scope.id].append(node.id)
    users = graph.users
    ends = {graph.output} | {h.output for h in graph.heads}  # aux heads' outputs are outputs too
    units = []
    for scope, nodes in zip(graph.scopes, members):
        inside = set(nodes)
        inputs = sorted({i for n in nodes for i in graph.nodes[n].inputs if i not in inside})
        outputs = tuple(n for n in nodes if n in ends or any(u not in inside for u in users[n]))
        first = next((n for n in nodes if graph.nodes[n].op.is_layer), None)
        units.append(Unit(scope, nodes, tuple(inputs), outputs, first))
    return units


def is_function(unit: Unit) -> bool:
    """Its nodes are consecutive (so calling it as one step keeps the order valid), it reads at least
    one value from outside and exactly one of its values is read outside."""
    nodes = unit.nodes
    return (bool(nodes) and nodes[-1] - nodes[0] + 1 == len(nodes) and len(unit.inputs) >= 1
            and len(unit.outputs) == 1)


def class_heights(units: list[Unit]) -> dict[int, int]:
    """How many levels of classes lie below each scope: classes are finished lowest first."""
    height = {u.scope.id: 0 for u in units}
    for unit in reversed(units):
        parent = unit.scope.parent
        if parent is not None:
            extra = 1 if unit.kind == CLASS else 0
            height[parent] = max(height[parent], height[unit.scope.id] + extra)
    return height
