"""Parameters, MACs and element-wise work of every op — one table of formulas.

Conventions (the ones the ResNet paper's "FLOPs" column and torchvision's "GFLOPS" column use):
  * MACs count multiply-accumulates of conv, up-conv and fc layers only, batch 1; biases are free.
  * FLOPs = 2 x MACs, the convention of `torch.utils.flop_counter`.
  * Everything else (batch norm, activations, pooling, adds, concats, ...) is counted separately as
    element operations by kind: one per output element (a pool: one per element of each window).
  * Parameters are trainable tensors; BN running statistics are buffers, counted apart.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from math import prod
from typing import Callable

from resdsl.ir import ops
from resdsl.ir.graph import Graph, Node
from resdsl.ir.types import TensorType


@dataclass(frozen=True, slots=True)  # one per node: no __dict__ each
class OpCost:
    params: int = 0
    buffers: int = 0
    macs: int = 0
    elementwise: int = 0  # other work, reported under the op's kind

    @property
    def flops(self) -> int:
        return 2 * self.macs


def _conv(op: ops.Conv, inputs: list[TensorType], out: TensorType) -> OpCost:
    per_output = (op.in_channels // op.groups) * op.kernel[0] * op.kernel[1]
    params = op.out_channels * per_output + (op.out_channels if op.bias else 0)
    return OpCost(params=params, macs=out.numel * per_output)


def _conv_transpose(op: ops.ConvTranspose, inputs: list[TensorType], out: TensorType) -> OpCost:
    weights = op.in_channels * op.out_channels * op.kernel[0] * op.kernel[1]
    params = weights + (op.out_channels if op.bias else 0)
    return OpCost(params=params, macs=inputs[0].height * inputs[0].width * weights)


def _linear(op: ops.Linear, inputs: list[TensorType], out: TensorType) -> OpCost:
    params = op.in_features * op.out_features + (op.out_features if op.bias else 0)
    return OpCost(params=params, macs=op.in_features * op.out_features)


def _batchnorm(op: ops.BatchNorm, inputs: list[TensorType], out: TensorType) -> OpCost:
    # weight + bias are trained; running mean, running var and num_batches_tracked are buffers.
    return OpCost(params=2 * op.channels, buffers=2 * op.channels + 1, elementwise=out.numel)


def _pool(op: ops.Pool, inputs: list[TensorType], out: TensorType) -> OpCost:
    return OpCost(elementwise=out.numel * op.kernel[0] * op.kernel[1])


def _adaptive_pool(op: ops.AdaptivePool, inputs: list[TensorType], out: TensorType) -> OpCost:
    return OpCost(elementwise=inputs[0].numel)


def _per_output(op, inputs: list[TensorType], out: TensorType) -> OpCost:
    return OpCost(elementwise=out.numel)


def _per_input_sum(op, inputs: list[TensorType], out: TensorType) -> OpCost:
    return OpCost(elementwise=out.numel * max(1, len(inputs) - 1))


def _free(op, inputs: list[TensorType], out: TensorType) -> OpCost:
    return OpCost()


def _gated_sum(op, inputs: list[TensorType], out: TensorType) -> OpCost:
    return OpCost(elementwise=3 * out.numel)  # h*t, x*(1-t), and the sum


FORMULAS: dict[type, Callable[[ops.Op, list[TensorType], TensorType], OpCost]] = {
    ops.Input: _free,
    ops.Conv: _conv,
    ops.ConvTranspose: _conv_transpose,
    ops.Linear: _linear,
    ops.BatchNorm: _batchnorm,
    ops.Activation: _per_output,
    ops.Pool: _pool,
    ops.AdaptivePool: _adaptive_pool,
    ops.Flatten: _free,
    ops.Dropout: _free,     # identity at inference
    ops.DropPath: lambda op, ins, out: (_per_output(op, ins, out) if op.mode == "paper"  # test-time scaling
                                        else _free(op, ins, out)),                      # identity at test
    ops.Add: _per_input_sum,
    ops.Mul: _per_input_sum,
    ops.Concat: _free,      # a copy, no arithmetic
    ops.ZeroPadShortcut: _free,
    ops.Crop: _free,
    ops.GatedSum: _gated_sum,
}


def op_cost(graph: Graph, node: Node) -> OpCost:
    return _cost(node.op, tuple(graph.nodes[i].type for i in node.inputs), node.type)


@lru_cache(maxsize=4096)
def _cost(op: ops.Op, inputs: tuple[TensorType, ...], out: TensorType) -> OpCost:
    # Repeated blocks repeat the same (op, shapes): memoised, counting 10,000 blocks stays fast.
    return FORMULAS[type(op)](op, list(inputs), out)


def element_kind(node: Node) -> str:
    """The name element-wise work is reported under (`relu`, `bn`, `add`, ...)."""
    op = node.op
    if isinstance(op, ops.Activation):
        return op.function
    if isinstance(op, (ops.Pool, ops.AdaptivePool)):
        return f"{op.mode}pool"
    return op.kind


@dataclass(frozen=True)
class Totals:
    params: int
    buffers: int
    macs: int
    by_kind: tuple[tuple[str, int], ...]  # element-wise work, by kind, sorted by name

    @property
    def flops(self) -> int:
        return 2 * self.macs


def totals(graph: Graph, costs: tuple[OpCost, ...]) -> Totals:
    by_kind: dict[str, int] = {}
    for node, cost in zip(graph.nodes, costs):
        if cost.elementwise:
            kind = element_kind(node)
            by_kind[kind] = by_kind.get(kind, 0) + cost.elementwise
    return Totals(params=sum(c.params for c in costs), buffers=sum(c.buffers for c in costs),
                  macs=sum(c.macs for c in costs), by_kind=tuple(sorted(by_kind.items())))


def costs_of(graph: Graph) -> tuple[OpCost, ...]:
    return tuple(op_cost(graph, node) for node in graph.nodes)


def tensor_elements(t: TensorType) -> int:
    return prod(t.shape)
