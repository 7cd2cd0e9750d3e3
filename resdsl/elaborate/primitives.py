"""The primitive ops a spec can call, with their signatures: the vocabulary blocks are made of.

Each entry binds the call's arguments and the input tensor's type into an IR op.  Argument errors
are raised as `ArgProblem(message, hint, arg_name)`; the elaborator attaches the argument's span.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable

from resdsl.diagnostics import ArgumentError, ResdslError, ShapeError, SourceSpan
from resdsl.elaborate.values import Dims, Symbol, TensorRef, show, type_name
from resdsl.ir import ops
from resdsl.ir.activations import ACTIVATIONS, ActivationFacts
from resdsl.ir.activations import Param as ActParam
from resdsl.ir.types import TensorType
from resdsl.syntax import ast

REQUIRED = object()
MAX_WINDOW = 1 << 16  # kernels, strides and padding: no map is larger than this per side


class ArgProblem(Exception):
    """A call the op cannot take; `error` is the class it is reported as (an argument's value, or the
    shape of the input)."""

    def __init__(self, message: str, hint: str | None = None, arg: str | None = None,
                 error: type[ResdslError] = ArgumentError):
        super().__init__(message)
        self.message, self.hint, self.arg, self.error = message, hint, arg, error


@dataclass(frozen=True)
class Primitive:
    name: str
    params: tuple[tuple[str, Any], ...]  # (name, default or REQUIRED), positional order
    build: Callable[[dict[str, Any], TensorType], "ops.Op | tuple[ops.Op, ...]"]  # a tuple: split's parts
    summary: str
    example: str  # a use that fits an 8x12x12 feature map (the docs show it; tests run it)
    sources: tuple[str, ...] = ()  # arguments that are earlier tensors, read as further inputs

    @cached_property
    def signature(self) -> tuple[tuple[ast.Param, ...], dict[str, Any]]:
        """The parameters as the binder takes them, and the defaults: made once, not at every call.
        (The binder reports a missing argument at the call, so the parameters need no span of theirs.)"""
        span = SourceSpan(f"<primitive {self.name}>", 1, 1, 1, 1)
        return (tuple(ast.Param(span, name, None) for name, _ in self.params),
                {name: default for name, default in self.params if default is not REQUIRED})


@dataclass(frozen=True)
class Producer:
    """A tensor argument read as a further input of the op (`maxunpool @pool1`), with the op that made
    it and that op's input type, so a primitive can check what it reads."""

    ref: TensorRef
    op: ops.Op
    input_type: TensorType


def read_sources(primitive: Primitive, args: dict[str, Any], node_of) -> tuple[dict[str, Any], list[TensorRef]]:
    """`args` with each source argument made a `Producer`, and the tensors they read, in order.
    `node_of(id)` gives a node of the graph under construction."""
    refs: list[TensorRef] = []
    out = dict(args)
    for name in primitive.sources:
        v = args[name]
        if not isinstance(v, TensorRef):
            raise ArgProblem(f"{primitive.name}'s {name} must be an earlier tensor like @pool1, got "
                             f"{type_name(v)} ({show(v)})",
                             "label the max pool it undoes (`pool1: maxpool 2x2/2`) and write "
                             f"`{primitive.name} @pool1`", name)
        node = node_of(v.node)
        input_type = node_of(node.inputs[0]).type if node.inputs else node.type
        out[name] = Producer(v, node.op, input_type)
        refs.append(v)
    return out, refs


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


def real(args: dict, name: str) -> float:
    v = args[name]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ArgProblem(f"{name} must be a number, got {type_name(v)} ({show(v)})", None, name)
    return float(v)


def small(args: dict, name: str, what: str) -> float:
    """A normalisation's epsilon: positive and below 1."""
    eps = positive(args, name)
    if eps >= 1:
        raise ArgProblem(f"{what}'s {name} is {eps:g}; it is a small constant like 1e-5",
                         f"{what} takes its channels from its input", name)
    return eps


def word(args: dict, name: str, choices: tuple[str, ...]) -> str:
    v = args[name]
    text = v.name if isinstance(v, Symbol) else v
    if text not in choices:
        raise ArgProblem(f"{name} is one of {', '.join(choices)}, got {show(v)}", None, name)
    return text


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
                         "put it before the flatten / fc layers", error=ShapeError)
    return t.channels


# ---- the primitives -------------------------------------------------------------------------


def _conv(a: dict, t: TensorType) -> ops.Op:
    kernel, stride, dilation = pair(a, "kernel"), pair(a, "stride"), pair(a, "dilation")
    return ops.Conv(_channels(t, "conv"), whole(a, "out"), kernel, stride, padding(a, kernel, dilation),
                    dilation, whole(a, "groups"), flag(a, "bias"))


def _upconv(a: dict, t: TensorType) -> ops.Op:
    kernel = pair(a, "kernel")
    return ops.ConvTranspose(_channels(t, "up-conv"), whole(a, "out"), kernel, pair(a, "stride"),
                             pair(a, "pad", minimum=0), flag(a, "bias"), pair(a, "output_pad", minimum=0))


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


def _dropout(a: dict, t: TensorType) -> ops.Op:
    spatial = flag(a, "spatial")
    if spatial and not t.is_image:
        raise ArgProblem(f"spatial dropout drops channels of a feature map, but its input is the flat vector {t}",
                         "use plain `dropout` after flatten / fc", "spatial")
    return ops.Dropout(fraction(a, "p"), spatial)


def _maxunpool(a: dict, t: TensorType) -> ops.Op:
    _channels(t, "maxunpool")
    source: Producer = a["indices"]
    pool = source.op
    if not (isinstance(pool, ops.Pool) and pool.mode == "max"):
        made = "the network's input" if isinstance(pool, ops.Input) else f"a {pool.describe()}"
        raise ArgProblem(f"maxunpool puts values back where a max pool found them, but this tensor is the "
                         f"output of {made}",
                         "name the max pool it undoes: `pool1: maxpool 2x2/2` ... `maxunpool @pool1` (or "
                         "@block.pool1 for a pool labelled inside the block labelled block)", "indices")
    return ops.MaxUnpool(pool.kernel, pool.stride, pool.padding, source.input_type.spatial)


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
            raise ArgProblem("crop needs a feature map to take its size from", None, "to", error=ShapeError)
        return ops.Crop(target.type.spatial)
    return ops.Crop(pair(a, "to"))


def _zeropad(a: dict, t: TensorType) -> ops.Op:
    return ops.ZeroPadShortcut(_channels(t, "zero-pad shortcut"), whole(a, "out"), pair(a, "stride"))


def _prelu(a: dict, t: TensorType) -> ops.Op:
    return ops.PReLU(1 if flag(a, "shared") else t.channels, real(a, "init"))


def _layernorm(a: dict, t: TensorType) -> ops.Op:
    return ops.LayerNorm(t.channels, small(a, "eps", "layernorm"))


def _groupnorm(a: dict, t: TensorType) -> ops.Op:
    return ops.GroupNorm(whole(a, "groups"), _channels(t, "groupnorm"), small(a, "eps", "groupnorm"))


def _lrn(a: dict, t: TensorType) -> ops.Op:
    _channels(t, "lrn")
    return ops.LocalResponseNorm(whole(a, "size"), real(a, "alpha"), real(a, "beta"), real(a, "k"))


def _layer_scale(a: dict, t: TensorType) -> ops.Op:
    return ops.LayerScale(_channels(t, "layer_scale"), real(a, "init"))


def _channel_fc(a: dict, t: TensorType) -> ops.Op:
    return ops.ChannelLinear(_channels(t, "channel_fc"), whole(a, "out"), flag(a, "bias"))


UPSAMPLE_MODES = ("nearest", "bilinear")


def _upsample(a: dict, t: TensorType) -> ops.Op:
    _channels(t, "upsample")
    mode = word(a, "mode", UPSAMPLE_MODES)
    corners = flag(a, "align_corners")
    if corners and mode != "bilinear":
        raise ArgProblem("align_corners applies to mode=bilinear only", "drop it, or write mode=bilinear",
                         "align_corners")
    scale, size = a["scale"], a["size"]
    if (scale == AUTO) == (size == AUTO):
        raise ArgProblem("upsample takes a scale or a size, exactly one of them",
                         "write `upsample 2` or `upsample size=28x28`", "scale" if scale != AUTO else None)
    if size != AUTO:
        return ops.Upsample(size=pair(a, "size"), mode=mode, align_corners=corners)
    factor = positive(a, "scale")
    if factor > MAX_WINDOW:
        raise ArgProblem(f"scale {show(scale)} is past the limit of {MAX_WINDOW:,}", None, "scale")
    return ops.Upsample(scale=factor, mode=mode, align_corners=corners)


def _channel_shuffle(a: dict, t: TensorType) -> ops.Op:
    _channels(t, "channel_shuffle")
    return ops.ChannelShuffle(whole(a, "groups"))


def _channel_affine(a: dict, t: TensorType) -> ops.Op:
    channels = _channels(t, "channel_affine")
    return ops.ChannelAffine(_per_channel(a, "scale", channels), _per_channel(a, "shift", channels))


def _per_channel(a: dict, name: str, channels: int) -> tuple[float, ...]:
    """One number for every channel, or a list of one per channel."""
    v = a[name]
    if isinstance(v, list):
        if len(v) != channels:
            raise ArgProblem(f"{name} lists {len(v)} numbers for a map of {channels} channels",
                             "one number per channel, or a single number for all", name)
        return tuple(real({name: x}, name) for x in v)
    return (real(a, name),) * channels


def _split(a: dict, t: TensorType) -> tuple[ops.Op, ...]:
    channels = _channels(t, "split")
    sizes = a["sizes"]
    if not isinstance(sizes, list) or len(sizes) < 2:
        raise ArgProblem(f"split takes a list of two or more channel counts, got {show(sizes)}",
                         f"write `split [{channels // 2}, {channels - channels // 2}]`, or `chunk 2`", "sizes")
    counts = [whole({"part": s}, "part") for s in sizes]
    if sum(counts) != channels:
        raise ArgProblem(f"the parts {show(sizes)} add up to {sum(counts)} channels, but the input has {channels}",
                         None, "sizes", error=ShapeError)
    return _slices(counts)


def _chunk(a: dict, t: TensorType) -> tuple[ops.Op, ...]:
    channels = _channels(t, "chunk")
    parts = whole(a, "parts", minimum=2)
    if channels % parts:
        raise ArgProblem(f"chunk {parts} does not divide the {channels} channels evenly",
                         "use split [a, b, ...] for unequal parts", "parts", error=ShapeError)
    return _slices([channels // parts] * parts)


def _slices(counts: list[int]) -> tuple[ops.Op, ...]:
    starts = [sum(counts[:i]) for i in range(len(counts))]
    return tuple(ops.ChannelSlice(s, s + n) for s, n in zip(starts, counts))


_PRIMITIVES = [
    Primitive("conv", (("kernel", REQUIRED), ("out", REQUIRED), ("stride", 1), ("pad", AUTO),
                       ("groups", 1), ("bias", False), ("dilation", 1)), _conv,
              "2-D convolution: `conv 3x3 64 /2 groups=32 bias=true`; pad defaults to (k-1)//2",
              "conv 3x3 16 /2 groups=4"),
    Primitive("upconv", (("kernel", REQUIRED), ("out", REQUIRED), ("stride", 1), ("pad", 0),
                         ("bias", False), ("output_pad", 0)), _upconv,
              "transposed convolution (U-Net's up-conv): `upconv 2x2/2 512`; output_pad adds rows and "
              "columns on one side (ENet: `upconv 3x3/2 16 pad=1 output_pad=1`)",
              "upconv 2x2/2 4 bias=true"),
    Primitive("bn", (("eps", 1e-5), ("momentum", 0.1)), _bn, "batch normalisation over channels",
              "bn eps=0.001"),
    Primitive("maxpool", (("kernel", REQUIRED), ("stride", AUTO), ("pad", AUTO), ("ceil", False)),
              _pool("max"), "max pooling: `maxpool 3x3/2`; stride defaults to the kernel",
              "maxpool 3x3/2 pad=1"),
    Primitive("maxunpool", (("indices", REQUIRED),), _maxunpool,
              "max-unpooling with the indices of an earlier max pool, to the size that pool read "
              "(ENet, SegNet): `maxunpool @pool1`",
              "pool1: maxpool 2x2/2\n  conv 3x3 8\n  maxunpool @pool1", sources=("indices",)),
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
    Primitive("dropout", (("p", 0.5), ("spatial", False)),
              _dropout,
              "dropout with drop probability p; spatial=true drops whole channels (nn.Dropout2d)",
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
    Primitive("prelu", (("shared", False), ("init", 0.25)), _prelu,
              "parametric ReLU with a learned slope per channel (shared=true: one for all)",
              "prelu"),
    Primitive("layernorm", (("eps", 1e-6),), _layernorm,
              "layer normalisation over the channels at every position (ConvNeXt's LayerNorm2d)",
              "layernorm eps=1e-5"),
    Primitive("groupnorm", (("groups", REQUIRED), ("eps", 1e-5)), _groupnorm,
              "group normalisation: `groupnorm 32`", "groupnorm 4"),
    Primitive("lrn", (("size", REQUIRED), ("alpha", 1e-4), ("beta", 0.75), ("k", 1.0)), _lrn,
              "local response normalisation across `size` channels (AlexNet: `lrn 5 k=2`)",
              "lrn 5 alpha=0.001 k=2"),
    Primitive("layer_scale", (("init", 1e-6),), _layer_scale,
              "learned per-channel scale, a (C,1,1) parameter named by the label (ConvNeXt)",
              "layer_scale init=0.1"),
    Primitive("channel_fc", (("out", REQUIRED), ("bias", True)), _channel_fc,
              "fully connected layer over the channels at every position (ConvNeXt's MLP)",
              "channel_fc 16"),
    Primitive("upsample", (("scale", AUTO), ("size", AUTO), ("mode", Symbol("nearest")),
                           ("align_corners", False)), _upsample,
              "resize by a scale or to a size: `upsample 2`, `upsample size=28x28 mode=bilinear`",
              "upsample 2 mode=bilinear align_corners=true"),
    Primitive("channel_shuffle", (("groups", REQUIRED),), _channel_shuffle,
              "ShuffleNet's channel shuffle across `groups`", "channel_shuffle 2"),
    Primitive("channel_affine", (("scale", 1.0), ("shift", 0.0)), _channel_affine,
              "x · scale + shift per channel, constants (a list, one per channel, or one number): "
              "torchvision's GoogLeNet `transform_input`", "channel_affine [2, 1, 1, 1, 1, 1, 1, 0.5] shift=0.25"),
    Primitive("split", (("sizes", REQUIRED),), _split,
              "split the channels into parts that feed the branches of the merge that follows",
              "split [3, 5]\n  concat {\n    identity\n    conv 1x1 5\n  }"),
    Primitive("chunk", (("parts", REQUIRED),), _chunk,
              "split the channels into N equal parts that feed the branches of the next merge",
              "chunk 2\n  concat {\n    identity\n    { conv 1x1 4, relu }\n  }"),
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
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ArgProblem(f"{param.name} must be a number, got {type_name(v)} ({show(v)})", None, param.name)
    if param.minimum is not None and v < param.minimum:
        raise ArgProblem(f"{param.name} must be at least {param.minimum:g}, got {show(v)}", None, param.name)
    return float(v)


PRIMITIVES: dict[str, Primitive] = {p.name: p for p in (*_PRIMITIVES,
                                                        *(_activation(f) for f in ACTIVATIONS.values()))}


# ---- the language reference's table, generated from the primitives (docs/language.md) ---------------

TABLE_BEGIN = "<!-- primitive table: generated by `python3 scripts/primitive_table.py`; do not edit -->"
TABLE_END = "<!-- end of the primitive table -->"


def _default_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Symbol):
        return value.name
    if isinstance(value, float):
        return f"{value:.0e}".replace("e-0", "e-") if 0 < abs(value) < 1e-3 else f"{value:g}"
    return str(value)


def primitive_table() -> str:
    """The markdown table of every primitive: its arguments (positional order, defaults), what it
    computes and an example (each example runs on an 8x12x12 map: tests/test_op_set.py walks them)."""
    rows = [TABLE_BEGIN, "", "| op | arguments (positional first) | what it computes | example |",
            "| --- | --- | --- | --- |"]
    for p in PRIMITIVES.values():
        args = ", ".join(name if default is REQUIRED else f"{name}={_default_text(default)}"
                         for name, default in p.params) or "—"
        example = re.sub(r"\s*\n\s*", "; ", p.example).replace("{; ", "{ ").replace("; }", " }")
        rows.append(f"| `{p.name}` | {args} | {p.summary.replace('|', chr(92) + '|')} | `{example}` |")
    rows.append("| `identity` | — | the value coming in; useful as a branch | `identity` |")
    rows += ["", TABLE_END]
    return "\n".join(rows)
