"""Activation memory from tensor liveness, for one inference pass in node order.

A node's output is live from the step that computes it to the last step that reads it (the network's
output stays live to the end).  Views (flatten, dropout at inference) and in-place tricks are not
modelled: every op output is its own tensor, which is what an eager forward pass without in-place
ReLU allocates.  A max pool whose indices a max-unpool reads (ENet, SegNet) also keeps an int64 index
per output element, alive as long as its output: 8 bytes whatever the activations' dtype, so the peak
is found per dtype.  Figures are per sample; multiply by batch.  Aux heads (training-time side outputs)
do not run in an inference pass and are left out.
"""
from __future__ import annotations

from dataclasses import dataclass

from resdsl.ir.graph import Graph

INDEX_BYTES = 8            # torch's max-pool indices are int64
DTYPE_BYTES = (4, 2)       # the dtypes whose peak is found: fp32, fp16


@dataclass(frozen=True)
class Peak:
    values: int    # activation elements alive at the peak
    indices: int   # pool indices alive at the peak
    step: int      # the node at which it is reached

    def bytes(self, bytes_per_element: int) -> int:
        return self.values * bytes_per_element + self.indices * INDEX_BYTES


@dataclass(frozen=True)
class ActivationMemory:
    total_elements: int  # every op output, summed (what training keeps for backward, roughly)
    index_elements: int  # the int64 indices kept for max-unpooling, summed
    peaks: tuple[tuple[int, Peak], ...]  # (bytes per element, the most bytes alive at once in that dtype)

    def peak(self, bytes_per_element: int = 4) -> Peak:
        for size, peak in self.peaks:
            if size == bytes_per_element:
                return peak
        raise ValueError(f"no peak kept for {bytes_per_element}-byte activations (only {DTYPE_BYTES})")

    @property
    def peak_elements(self) -> int:
        return self.peak(4).values

    @property
    def peak_step(self) -> int:
        return self.peak(4).step

    def peak_bytes(self, batch: int = 1, bytes_per_element: int = 4) -> int:
        return batch * self.peak(bytes_per_element).bytes(bytes_per_element)

    def total_bytes(self, batch: int = 1, bytes_per_element: int = 4) -> int:
        return batch * (self.total_elements * bytes_per_element + self.index_elements * INDEX_BYTES)


def activation_memory(graph: Graph) -> ActivationMemory:
    nodes = graph.nodes
    if graph.heads:
        owner = graph.head_of
        nodes = tuple(n for n in nodes if owner[n.id] == -1)
    indexed = graph.indexed_pools
    last_use = list(range(len(graph.nodes)))
    for node in nodes:  # in topological order, so the last reader of a tensor is the last one seen
        reader = node.id
        for i in node.inputs:
            last_use[i] = reader
    last_use[graph.output] = len(graph.nodes)  # a step after the last: the output stays live
    if not indexed:
        return _values_only(nodes, last_use)
    # Sweep: add each output when produced, drop it after its last reader.
    frees: dict[int, tuple[int, int]] = {}
    for node in nodes:
        step = last_use[node.id]
        values, indices = frees.get(step, (0, 0))
        numel = node.type.numel
        frees[step] = (values + numel, indices + (numel if node.id in indexed else 0))
    # The peak in each dtype, kept as plain ints: this loop runs once per op of 100k-block specs.
    live_values = live_indices = 0
    best = [[0, 0, 0, 0] for _ in DTYPE_BYTES]  # bytes, values, indices, step
    for node in nodes:
        numel = node.type.numel
        live_values += numel
        if node.id in indexed:
            live_indices += numel
        for size, peak in zip(DTYPE_BYTES, best):
            live = live_values * size + live_indices * INDEX_BYTES
            if live > peak[0]:
                peak[:] = live, live_values, live_indices, node.id
        freed = frees.get(node.id)
        if freed is not None:
            live_values -= freed[0]
            live_indices -= freed[1]
    total = sum(n.type.numel for n in nodes)
    index_total = sum(n.type.numel for n in nodes if n.id in indexed)
    return ActivationMemory(total_elements=total, index_elements=index_total, peaks=tuple((size, Peak(*peak[1:])) for size, peak in zip(DTYPE_BYTES, best)))


def _values_only(nodes, last_use: list[int]) -> ActivationMemory:
    """`activation_memory` of a network without pool indices: the bytes alive are the elements alive
    times one size, so every dtype peaks at the same step, found in one sweep."""
    sizes = [node.type.numel for node in nodes]
    frees: dict[int, int] = {}
    for node, size in zip(nodes, sizes):
        step = last_use[node.id]
        frees[step] = frees.get(step, 0) + size
    live = peak = peak_step = 0
    for node, size in zip(nodes, sizes):
        live += size
        if live > peak:
            peak, peak_step = live, node.id
        live -= frees.get(node.id, 0)
    return ActivationMemory(total_elements=sum(sizes), index_elements=0,
                            peaks=tuple((size, Peak(peak, 0, peak_step)) for size in DTYPE_BYTES))
