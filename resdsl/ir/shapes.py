"""What shape rules share: the problem they raise and the window arithmetic of convs and pools.

Each op's own rule is its `infer` method (`resdsl.ir.ops`).  Rules raise `ShapeProblem` (message +
hint, no location); the elaborator, which knows the source span and the stage, turns it into a
located `ShapeError`.
"""
from __future__ import annotations

from typing import Sequence

from resdsl.ir.types import TensorType


class ShapeProblem(Exception):
    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


def image(t: TensorType, what: str) -> TensorType:
    """`t` if it is a CxHxW feature map, else the problem a flat vector makes for `what`."""
    if not t.is_image:
        raise ShapeProblem(f"{what} needs a CxHxW feature map, but its input is the flat vector {t}",
                           "put it before the flatten / fc layers")
    return t


def window(size: int, kernel: int, stride: int, pad: int, dilation: int = 1, ceil: bool = False) -> int:
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    out = -(-span // stride) + 1 if ceil else span // stride + 1
    # PyTorch's rule: with ceil_mode the last window must start inside the (left-padded) input.
    if ceil and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def spatial(t: TensorType, what: str, kernel, stride, pad, dilation=(1, 1), ceil=False) -> tuple[int, int]:
    h = window(t.height, kernel[0], stride[0], pad[0], dilation[0], ceil)
    w = window(t.width, kernel[1], stride[1], pad[1], dilation[1], ceil)
    if h <= 0 or w <= 0:
        kh, kw = kernel
        fix = "remove the stride" if max(stride) > 1 else f"pad it (pad={(kh - 1) // 2}) or use a smaller kernel"
        raise ShapeProblem(
            f"{kh}x{kw} {what} with stride {stride[0]} on a {t.height}x{t.width} map gives a "
            f"{max(h, 0)}x{max(w, 0)} output",
            f"{fix}, or use a larger input (the map is {t.height}x{t.width} here)")
    return h, w


def mismatch_hint(a: TensorType, b: TensorType) -> str | None:
    if a.is_image and b.is_image and a.spatial != b.spatial:
        return "a stride changed the map size on one branch only; project the other branch (shortcut=B) to match"
    if a.is_image and b.is_image:
        return "the branches end with different widths; project the shortcut (shortcut=B) or fix the width"
    return None


def infer(op, inputs: Sequence[TensorType]) -> TensorType:
    """The output type of `op` applied to `inputs` (raises `ShapeProblem`)."""
    return op.infer(list(inputs))
