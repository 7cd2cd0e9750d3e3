"""Shape inference: one rule per op class, from input types to the output type.

Rules raise `ShapeProblem` (message + hint, no location); the elaborator, which knows the source span
and the stage, turns it into a located `ShapeError`.
"""
from __future__ import annotations

from typing import Callable

from resdsl.ir import ops
from resdsl.ir.types import TensorType


class ShapeProblem(Exception):
    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


def _image(t: TensorType, what: str) -> TensorType:
    if not t.is_image:
        raise ShapeProblem(f"{what} needs a CxHxW feature map, but its input is the flat vector {t}",
                           "put it before the flatten / fc layers")
    return t


def _window(size: int, kernel: int, stride: int, pad: int, dilation: int = 1, ceil: bool = False) -> int:
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    out = -(-span // stride) + 1 if ceil else span // stride + 1
    # PyTorch's rule: with ceil_mode the last window must start inside the (left-padded) input.
    if ceil and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def _spatial(t: TensorType, what: str, kernel, stride, pad, dilation=(1, 1), ceil=False) -> tuple[int, int]:
    h = _window(t.height, kernel[0], stride[0], pad[0], dilation[0], ceil)
    w = _window(t.width, kernel[1], stride[1], pad[1], dilation[1], ceil)
    if h <= 0 or w <= 0:
        kh, kw = kernel
        fix = "remove the stride" if max(stride) > 1 else f"pad it (pad={(kh - 1) // 2}) or use a smaller kernel"
        raise ShapeProblem(
            f"{kh}x{kw} {what} with stride {stride[0]} on a {t.height}x{t.width} map gives a "
            f"{max(h, 0)}x{max(w, 0)} output",
            f"{fix}, or use a larger input (the map is {t.height}x{t.width} here)")
    return h, w


def conv(op: ops.Conv, inputs: list[TensorType]) -> TensorType:
    t = _image(inputs[0], "a conv")
    if t.channels != op.in_channels:
        raise ShapeProblem(f"conv expects {op.in_channels} input channels, got {t.channels}")
    if op.in_channels % op.groups or op.out_channels % op.groups:
        bad = op.in_channels if op.in_channels % op.groups else op.out_channels
        which = "input" if op.in_channels % op.groups else "output"
        raise ShapeProblem(f"groups={op.groups} does not divide the {bad} {which} channels",
                           f"choose groups among the divisors of {bad}")
    h, w = _spatial(t, "conv", op.kernel, op.stride, op.padding, op.dilation)
    return TensorType.image(op.out_channels, h, w)


def conv_transpose(op: ops.ConvTranspose, inputs: list[TensorType]) -> TensorType:
    t = _image(inputs[0], "an up-conv")
    h = (t.height - 1) * op.stride[0] - 2 * op.padding[0] + op.kernel[0]
    w = (t.width - 1) * op.stride[1] - 2 * op.padding[1] + op.kernel[1]
    if h <= 0 or w <= 0:
        raise ShapeProblem(f"up-conv on a {t.height}x{t.width} map gives a {h}x{w} output")
    return TensorType.image(op.out_channels, h, w)


def same(op, inputs: list[TensorType]) -> TensorType:
    return inputs[0]


def batchnorm(op: ops.BatchNorm, inputs: list[TensorType]) -> TensorType:
    t = inputs[0]
    if t.channels != op.channels:
        raise ShapeProblem(f"batch norm over {op.channels} channels got {t.channels}")
    return t


def pool(op: ops.Pool, inputs: list[TensorType]) -> TensorType:
    t = _image(inputs[0], f"a {op.mode} pool")
    h, w = _spatial(t, f"{op.mode} pool", op.kernel, op.stride, op.padding, ceil=op.ceil_mode)
    return TensorType.image(t.channels, h, w)


def adaptive_pool(op: ops.AdaptivePool, inputs: list[TensorType]) -> TensorType:
    t = _image(inputs[0], "a global pool")
    return TensorType.image(t.channels, *op.output)


def linear(op: ops.Linear, inputs: list[TensorType]) -> TensorType:
    t = inputs[0]
    if t.numel != op.in_features:
        raise ShapeProblem(f"fc expects {op.in_features} input features, got {t.numel} ({t})")
    return TensorType.vector(op.out_features)


def flatten(op, inputs: list[TensorType]) -> TensorType:
    return TensorType.vector(inputs[0].numel)


def add(op, inputs: list[TensorType]) -> TensorType:
    first = inputs[0]
    for other in inputs[1:]:
        if other.shape != first.shape:
            raise ShapeProblem(f"cannot add a {first} tensor and a {other} tensor",
                               _mismatch_hint(first, other))
    return first


def mul(op, inputs: list[TensorType]) -> TensorType:
    """Element-wise product; a Cx1x1 operand broadcasts over the map (squeeze-and-excitation)."""
    result = inputs[0]
    for other in inputs[1:]:
        a, b = result, other
        if a.shape == b.shape:
            continue
        if a.is_image and b.is_image and a.channels == b.channels and (b.spatial == (1, 1) or a.spatial == (1, 1)):
            result = a if b.spatial == (1, 1) else b
            continue
        raise ShapeProblem(f"cannot multiply a {a} tensor and a {b} tensor",
                           "operands must match, or one must be Cx1x1 with the same C")
    return result


def concat(op, inputs: list[TensorType]) -> TensorType:
    first = _image(inputs[0], "concat")
    for other in inputs[1:]:
        _image(other, "concat")
        if other.spatial != first.spatial:
            raise ShapeProblem(
                f"cannot concatenate a {first} map and a {other} map: the spatial sizes differ",
                "crop the larger one (`crop @other`) or fix the strides so the maps agree")
    return TensorType.image(sum(t.channels for t in inputs), first.height, first.width)


def zero_pad(op: ops.ZeroPadShortcut, inputs: list[TensorType]) -> TensorType:
    t = _image(inputs[0], "a zero-pad shortcut")
    if op.out_channels < t.channels:
        raise ShapeProblem(f"a zero-padding shortcut cannot reduce channels ({t.channels} -> {op.out_channels})",
                           "use shortcut=B or C (a 1x1 projection) where the width shrinks")
    h = -(-t.height // op.stride[0])
    w = -(-t.width // op.stride[1])
    return TensorType.image(op.out_channels, h, w)


def crop(op: ops.Crop, inputs: list[TensorType]) -> TensorType:
    t = _image(inputs[0], "crop")
    if op.size[0] > t.height or op.size[1] > t.width:
        raise ShapeProblem(f"cannot crop a {t.height}x{t.width} map to {op.size[0]}x{op.size[1]}",
                           "crop the larger tensor to the size of the smaller")
    return TensorType.image(t.channels, *op.size)


def gated_sum(op, inputs: list[TensorType]) -> TensorType:
    h, x, gate = inputs
    if not (h.shape == x.shape == gate.shape):
        raise ShapeProblem(f"highway gate needs equal shapes, got {h}, {x} and {gate}")
    return h


def input_(op: ops.Input, inputs: list[TensorType]) -> TensorType:
    return TensorType(op.shape)


def _mismatch_hint(a: TensorType, b: TensorType) -> str | None:
    if a.is_image and b.is_image and a.spatial != b.spatial:
        return "a stride changed the map size on one branch only; project the other branch (shortcut=B) to match"
    if a.is_image and b.is_image:
        return "the branches end with different widths; project the shortcut (shortcut=B) or fix the width"
    return None


RULES: dict[type, Callable[[ops.Op, list[TensorType]], TensorType]] = {
    ops.Input: input_,
    ops.Conv: conv,
    ops.ConvTranspose: conv_transpose,
    ops.BatchNorm: batchnorm,
    ops.Activation: same,
    ops.Pool: pool,
    ops.AdaptivePool: adaptive_pool,
    ops.Linear: linear,
    ops.Flatten: flatten,
    ops.Dropout: same,
    ops.DropPath: same,
    ops.Add: add,
    ops.Mul: mul,
    ops.Concat: concat,
    ops.ZeroPadShortcut: zero_pad,
    ops.Crop: crop,
    ops.GatedSum: gated_sum,
}


def infer(op: ops.Op, inputs: list[TensorType]) -> TensorType:
    return RULES[type(op)](op, inputs)
