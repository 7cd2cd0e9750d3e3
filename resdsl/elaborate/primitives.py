"""The primitive ops a spec can call, with their signatures: the vocabulary blocks are made of.

Each entry binds the call's arguments and the input tensor's type into an IR op.  Argument errors
are raised as `ArgProblem(message, hint, arg_name)`; the elaborator attaches the argument's span.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from resdsl.elaborate.values import Dims, Symbol, TensorRef, show, type_name
from resdsl.ir import ops
from resdsl.ir.activations import ACTIVATIONS, ActivationFacts
from resdsl.ir.activations import Param as ActParam
from resdsl.ir.types import TensorType

REQUIRED = object()
MAX_WINDOW = 1 << 16  # kernels, strides and padding: no map is larger than this per side


class ArgProblem(Exception):
    def __init__(self, message: str, hint: str | None = None, arg: str | None = None):
        super().__init__(message)
        self.message, self.hint, self.arg = message, hint, arg


@dataclass(frozen=True)
class Primitive:
    name: str
    params: tuple[tuple[str, Any], ...]  # (name, default or REQUIRED), positional order
    build: Callable[[dict[str, Any], TensorType], ops.Op]
    summary: str
    example: str  # a use that fits an 8x12x12 feature map (the docs show it; tests run it)


# ---- argument coercion ----------------------------------------------------------------------


def whole(args: dict, name: str, minimum: int = 1) -> int:
    v = args[name]
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise ArgProblem(f"{name} must be a whole number, got {type_name(v)} ({show(v)})",
                         "use // for whole-number division, or floor(...)" if isinstance(v, float) else None,
                         name)
    if v < minimum:
        raise ArgProblem(f"{name} must be at least {minimum}, got {v}", None, name)
    return v


def fraction(args: dict, name: str) -> float:
    v = args[name]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
        raise ArgProblem(f"{name} must be a probability between 0 and 1, got {show(v)}", None, name)
    return float(v)


def positive(args: dict, name: str) -> float:
    v = args[name]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
        raise ArgProblem(f"{name} must be a positive number, got {show(v)}", None, name)
    return float(v)


def flag(args: dict, name: str) -> bool:
    v = args[name]
    if not isinstance(v, bool):
        raise ArgProblem(f"{name} must be true or false, got {type_name(v)} ({show(v)})", None, name)
    return v


def drop_path_mode(args: dict, name: str) -> str:
    v = args[name]
    mode = v.name if isinstance(v, Symbol) else v
    if mode not in ops.DROP_PATH_MODES:
        raise ArgProblem(f"{name} is one of paper, row or batch, got {show(v)}",
                         "paper: per mini-batch, scaled at test time (Huang et al.); row: per sample, "
                         "identity at test time (torchvision, timm)", name)
    return mode


def pair(args: dict, name: str, minimum: int = 1) -> tuple[int, int]:
    v = args[name]
    if isinstance(v, Dims):
        if len(v.values) != 2:
            raise ArgProblem(f"{name} must be a 2-D size like 3x3, got {v}", None, name)
        h, w = v.values
    elif isinstance(v, int) and not isinstance(v, bool):
        h = w = v
    else:
        raise ArgProblem(f"{name} must be a size like 3x3 or a whole number, got {type_name(v)}", None, name)
    if h < minimum or w < minimum:
        raise ArgProblem(f"{name} must be at least {minimum}, got {show(v)}", None, name)
    if h > MAX_WINDOW or w > MAX_WINDOW:
        raise ArgProblem(f"{name} {show(v)} is past the limit of {MAX_WINDOW:,}", None, name)
    return (h, w)


def padding(args: dict, kernel: tuple[int, int], dilation=(1, 1)) -> tuple[int, int]:
    """`pad=auto` (the default) keeps the map size for odd kernels at stride 1: (k-1)//2."""
    if args["pad"] == AUTO:
        return ((kernel[0] - 1) // 2 * dilation[0], (kernel[1] - 1) // 2 * dilation[1])
    return pair(args, "pad", minimum=0)


AUTO = Symbol("auto")


def _channels(t: TensorType, what: str) -> int:
    if not t.is_image:
        raise ArgProblem(f"{what} needs a CxHxW feature map, but its input is the flat vector {t}",
                         "put it before the flatten / fc layers")
    return t.channels


# ---- the primitives -------------------------------------------------------------------------


def _conv(a: dict, t: TensorType) -> ops.Op:
    kernel, stride, dilation = pair(a, "kernel"), pair(a, "stride"), pair(a, "dilation")
    return ops.Conv(_channels(t, "conv"), whole(a, "out"), kernel, stride, padding(a, kernel, dilation),
                    dilation, whole(a, "groups"), flag(a, "bias"))


def _upconv(a: dict, t: TensorType) -> ops.Op:
    kernel = pair(a, "kernel")
    return ops.ConvTranspose(_channels(t, "up-conv"), whole(a, "out"), kernel, pair(a, "stride"),
                             pair(a, "pad", minimum=0), flag(a, "bias"))


def _bn(a: dict, t: TensorType) -> ops.Op:
    eps = positive(a, "eps")
    if eps >= 1:
        raise ArgProblem(f"bn's eps is {eps:g}; it is a small constant like 1e-5",
                         "bn takes its channels from its input: write `bn`, or `bn eps=0.001`", "eps")
    return ops.BatchNorm(t.channels, eps, fraction(a, "momentum"))


def _pool(mode: str):
    def build(a: dict, t: TensorType) -> ops.Op:
        _channels(t, f"{mode}pool")
        kernel = pair(a, "kernel")
        stride = kernel if a["stride"] == AUTO else pair(a, "stride")
        pad = padding(a, kernel)
        if pad[0] * 2 > kernel[0] or pad[1] * 2 > kernel[1]:
            raise ArgProblem(f"pad {pad[0]}x{pad[1]} is more than half the {kernel[0]}x{kernel[1]} window",
                             "PyTorch refuses that; use a smaller pad", "pad")
        extra = {"count_include_pad": flag(a, "count_pad")} if mode == "avg" else {}
        return ops.Pool(mode, kernel, stride, pad, flag(a, "ceil"), **extra)
    return build


def _adaptive(mode: str):
    def build(a: dict, t: TensorType) -> ops.Op:
        _channels(t, "adaptive pool")
        return ops.AdaptivePool(mode, pair(a, "size"))
    return build


def _gap(a: dict, t: TensorType) -> ops.Op:
    _channels(t, "global average pool")
    return ops.AdaptivePool("avg", (1, 1))


def _fc(a: dict, t: TensorType) -> ops.Op:
    return ops.Linear(t.numel, whole(a, "out"), flag(a, "bias"))


def _crop(a: dict, t: TensorType) -> ops.Op:
    target = a["to"]
    if isinstance(target, TensorRef):
        if not target.type.is_image:
            raise ArgProblem("crop needs a feature map to take its size from", None, "to")
        return ops.Crop(target.type.spatial)
    return ops.Crop(pair(a, "to"))


def _zeropad(a: dict, t: TensorType) -> ops.Op:
    return ops.ZeroPadShortcut(_channels(t, "zero-pad shortcut"), whole(a, "out"), pair(a, "stride"))


_PRIMITIVES = [
    Primitive("conv", (("kernel", REQUIRED), ("out", REQUIRED), ("stride", 1), ("pad", AUTO),
                       ("groups", 1), ("bias", False), ("dilation", 1)), _conv,
              "2-D convolution: `conv 3x3 64 /2 groups=32 bias=true`; pad defaults to (k-1)//2",
              "conv 3x3 16 /2 groups=4"),
    Primitive("upconv", (("kernel", REQUIRED), ("out", REQUIRED), ("stride", 1), ("pad", 0),
                         ("bias", False)), _upconv,
              "transposed convolution (U-Net's up-conv): `upconv 2x2/2 512`",
              "upconv 2x2/2 4 bias=true"),
    Primitive("bn", (("eps", 1e-5), ("momentum", 0.1)), _bn, "batch normalisation over channels",
              "bn eps=0.001"),
    Primitive("maxpool", (("kernel", REQUIRED), ("stride", AUTO), ("pad", AUTO), ("ceil", False)),
              _pool("max"), "max pooling: `maxpool 3x3/2`; stride defaults to the kernel",
              "maxpool 3x3/2 pad=1"),
    Primitive("avgpool", (("kernel", REQUIRED), ("stride", AUTO), ("pad", AUTO), ("ceil", False),
                          ("count_pad", True)), _pool("avg"), "average pooling: `avgpool 2x2/2`",
              "avgpool 2x2/2"),
    Primitive("gap", (), _gap, "global average pooling to Cx1x1",
              "gap"),
    Primitive("adaptive_avgpool", (("size", REQUIRED),), _adaptive("avg"),
              "average pooling to a fixed size: `adaptive_avgpool 7x7`",
              "adaptive_avgpool 3x3"),
    Primitive("adaptive_maxpool", (("size", REQUIRED),), _adaptive("max"),
              "max pooling to a fixed size",
              "adaptive_maxpool 2x2"),
    Primitive("fc", (("out", REQUIRED), ("bias", True)), _fc,
              "fully connected layer; a feature map is flattened first",
              "fc 10"),
    Primitive("linear", (("out", REQUIRED), ("bias", True)), _fc, "same as fc",
              "linear 10 bias=false"),
    Primitive("flatten", (), lambda a, t: ops.Flatten(), "flatten CxHxW to a vector",
              "flatten"),
    Primitive("dropout", (("p", 0.5),), lambda a, t: ops.Dropout(fraction(a, "p")),
              "dropout with drop probability p",
              "dropout 0.2"),
    Primitive("droppath", (("p", REQUIRED), ("mode", Symbol("paper"))),
              lambda a, t: ops.DropPath(1.0 - fraction(a, "p"), drop_path_mode(a, "mode")),
              "drop the path with probability p in training (stochastic depth); mode=paper|row|batch",
              "droppath 0.1 mode=row"),
    Primitive("crop", (("to", REQUIRED),), _crop,
              "centre crop to a size or to the size of a tensor: `crop @up`",
              "crop 8x8"),
    Primitive("zeropad", (("out", REQUIRED), ("stride", 1)), _zeropad,
              "parameter-free shortcut: subsample and zero-pad channels (option A)",
              "zeropad 16 /2"),
]


def _activation(facts: ActivationFacts) -> Primitive:
    """The primitive of an activation, made from its entry in the activation table."""
    def build(a: dict, t: TensorType) -> ops.Op:
        return ops.Activation(facts.name, tuple((p.name, _activation_arg(a, p)) for p in facts.params))
    return Primitive(facts.name, tuple((p.name, p.default) for p in facts.params), build, facts.summary,
                     facts.example or facts.name)


def _activation_arg(args: dict, param: ActParam) -> float | str:
    v = args[param.name]
    if param.choices:
        word = v.name if isinstance(v, Symbol) else v
        if word not in param.choices:
            raise ArgProblem(f"{param.name} is one of {', '.join(param.choices)}, got {show(v)}", None,
                             param.name)
        return word
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ArgProblem(f"{param.name} must be a number, got {type_name(v)} ({show(v)})", None, param.name)
    return float(v)


PRIMITIVES: dict[str, Primitive] = {p.name: p for p in (*_PRIMITIVES,
                                                        *(_activation(f) for f in ACTIVATIONS.values()))}
