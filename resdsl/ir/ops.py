"""The primitive operations of the IR, one frozen dataclass each.

An op holds everything a back end needs to build it (channels, kernel, stride, ...), already resolved
against its input type.  Shape rules live in `resdsl.analysis.shapes`, cost formulas in
`resdsl.analysis.cost`; back ends dispatch on the op's class through tables, never on strings.
"""
from __future__ import annotations

from dataclasses import dataclass

Pair = tuple[int, int]


class Op:
    """Base of every primitive op.  `is_layer` ops become named modules of the built network."""

    is_layer = True
    kind = "op"

    def describe(self) -> str:  # pragma: no cover - every op overrides
        return self.kind


@dataclass(frozen=True)
class Input(Op):
    shape: tuple[int, ...]
    is_layer = False
    kind = "input"

    def describe(self) -> str:
        return "input " + "x".join(map(str, self.shape))


@dataclass(frozen=True)
class Conv(Op):
    in_channels: int
    out_channels: int
    kernel: Pair
    stride: Pair = (1, 1)
    padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    groups: int = 1
    bias: bool = False
    kind = "conv"

    def describe(self) -> str:
        text = f"{_pair(self.kernel)} conv, {self.out_channels}"
        if self.stride != (1, 1):
            text += f", /{_stride(self.stride)}"
        if self.groups > 1:
            text += f", groups {self.groups}"
        return text


@dataclass(frozen=True)
class ConvTranspose(Op):
    in_channels: int
    out_channels: int
    kernel: Pair
    stride: Pair = (1, 1)
    padding: Pair = (0, 0)
    bias: bool = False
    kind = "upconv"

    def describe(self) -> str:
        return f"{_pair(self.kernel)} up-conv, {self.out_channels}, x{_stride(self.stride)}"


@dataclass(frozen=True)
class BatchNorm(Op):
    channels: int
    eps: float = 1e-5
    momentum: float = 0.1
    kind = "bn"

    def describe(self) -> str:
        return "batch norm"


@dataclass(frozen=True)
class Activation(Op):
    function: str  # "relu" | "sigmoid"
    kind = "activation"

    def describe(self) -> str:
        return self.function


@dataclass(frozen=True)
class Pool(Op):
    mode: str  # "max" | "avg"
    kernel: Pair
    stride: Pair
    padding: Pair = (0, 0)
    ceil_mode: bool = False
    count_include_pad: bool = True
    kind = "pool"

    def describe(self) -> str:
        text = f"{_pair(self.kernel)} {self.mode} pool"
        if self.stride != (1, 1):
            text += f", /{_stride(self.stride)}"
        return text


@dataclass(frozen=True)
class AdaptivePool(Op):
    mode: str
    output: Pair
    kind = "pool"

    def describe(self) -> str:
        if self.output == (1, 1):
            return f"global {self.mode} pool"
        return f"adaptive {self.mode} pool {_pair(self.output)}"


@dataclass(frozen=True)
class Linear(Op):
    in_features: int
    out_features: int
    bias: bool = True
    kind = "fc"

    def describe(self) -> str:
        return f"fc {self.out_features}"


@dataclass(frozen=True)
class Flatten(Op):
    kind = "flatten"

    def describe(self) -> str:
        return "flatten"


@dataclass(frozen=True)
class Dropout(Op):
    p: float
    kind = "dropout"

    def describe(self) -> str:
        return f"dropout {self.p:g}"


DROP_PATH_MODES = ("paper", "row", "batch")


@dataclass(frozen=True)
class DropPath(Op):
    """Stochastic depth on a residual branch, which survives training with probability `survival`.

    mode "paper" (Huang et al. 2016): one draw per mini-batch, the branch scaled by `survival` at test
    time.  "row" (torchvision's StochasticDepth(p, "row"), timm's drop_path): one draw per sample, the
    kept ones divided by `survival` in training, the identity at test time.  "batch": as "row" with one
    draw per mini-batch (torchvision's "batch")."""

    survival: float
    mode: str = "paper"
    kind = "droppath"

    def describe(self) -> str:
        text = f"drop path, survive {self.survival:.3g}"
        return text if self.mode == "paper" else f"{text} ({self.mode})"


@dataclass(frozen=True)
class Add(Op):
    is_layer = False
    kind = "add"

    def describe(self) -> str:
        return "+"


@dataclass(frozen=True)
class Mul(Op):
    is_layer = False
    kind = "mul"

    def describe(self) -> str:
        return "×"


@dataclass(frozen=True)
class Concat(Op):
    is_layer = False
    kind = "concat"

    def describe(self) -> str:
        return "concat"


@dataclass(frozen=True)
class ZeroPadShortcut(Op):
    """Shortcut option A: subsample by `stride`, zero-pad channels up to `out_channels`; no parameters."""

    in_channels: int
    out_channels: int
    stride: Pair
    is_layer = False
    kind = "zeropad"

    def describe(self) -> str:
        text = f"zero-pad {self.in_channels}→{self.out_channels}"
        if self.stride != (1, 1):
            text += f", /{_stride(self.stride)}"
        return text


@dataclass(frozen=True)
class Crop(Op):
    """Centre crop to `size` (U-Net's skip connections across valid convolutions)."""

    size: Pair
    is_layer = False
    kind = "crop"

    def describe(self) -> str:
        return f"crop {_pair(self.size)}"


@dataclass(frozen=True)
class GatedSum(Op):
    """Highway merge of (h, x, t): h * t + x * (1 - t)."""

    is_layer = False
    kind = "highway"

    def describe(self) -> str:
        return "h·T + x·(1−T)"


def _pair(p: Pair) -> str:
    return f"{p[0]}x{p[1]}"


def _stride(p: Pair) -> str:
    return str(p[0]) if p[0] == p[1] else _pair(p)
