"""Activation memory from tensor liveness, for one inference pass in node order.

A node's output is live from the step that computes it to the last step that reads it (the network's
output stays live to the end).  Views (flatten, dropout at inference) and in-place tricks are not
modelled: every op output is its own tensor, which is what an eager forward pass without in-place
ReLU allocates.  Figures are in elements per sample; multiply by batch and bytes per element.
Aux heads (training-time side outputs) do not run in an inference pass and are left out.
"""
from __future__ import annotations

from dataclasses import dataclass

from resdsl.ir.graph import Graph


@dataclass(frozen=True)
class ActivationMemory:
    total_elements: int  # every op output, summed (what training keeps for backward, roughly)
    peak_elements: int   # the most elements alive at once during inference
    peak_step: int       # the node at which the peak is reached

    def bytes(self, elements: int, batch: int = 1, bytes_per_element: int = 4) -> int:
        return elements * batch * bytes_per_element


def activation_memory(graph: Graph) -> ActivationMemory:
    nodes = graph.nodes
    if graph.heads:
        owner = graph.head_of
        nodes = tuple(n for n in nodes if owner[n.id] == -1)
    last_use = list(range(len(graph.nodes)))
    for node in nodes:  # in topological order, so the last reader of a tensor is the last one seen
        reader = node.id
        for i in node.inputs:
            last_use[i] = reader
    last_use[graph.output] = len(graph.nodes)  # a step after the last: the output stays live
    # Sweep: add each output when produced, drop it after its last reader.
    frees: dict[int, int] = {}
    for node in nodes:
        step = last_use[node.id]
        frees[step] = frees.get(step, 0) + node.type.numel
    live = peak = peak_step = 0
    for node in nodes:
        live += node.type.numel
        if live > peak:
            peak, peak_step = live, node.id
        live -= frees.get(node.id, 0)
    total = sum(n.type.numel for n in nodes)
    return ActivationMemory(total_elements=total, peak_elements=peak, peak_step=peak_step)
