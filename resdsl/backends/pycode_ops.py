"""How a forward writes each op that is not a module call, table-driven by op class: functional nodes
(`FUNCTIONAL_CODE`: add, concat, the runtime pieces), parameter ops (`PARAMETER_CODE`), and stateless layers
written as functions (`FUNCTION_LAYER_CODE`: `F.relu(out, inplace=True)`, `F.max_pool2d(...)`, with
`ACTIVATION_CODE` naming each activation's function).  Nothing here imports torch.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from resdsl.backends.lowering import Lowered
from resdsl.backends.pycode_literals import short_pair
from resdsl.ir import ops

if TYPE_CHECKING:
    from resdsl.backends.pycode import Generator


Lit = Callable[[Any, str], str]


def _code_add(g: Generator, low: Lowered, args: list[str], lit: Lit) -> str:
    return " + ".join(args)


def _code_mul(g: Generator, low: Lowered, args: list[str], lit: Lit) -> str:
    return " * ".join(args)


def _code_concat(g: Generator, low: Lowered, args: list[str], lit: Lit) -> str:
    return f"torch.cat([{', '.join(args)}], 1)"


def _code_zero_pad(g: Generator, low: Lowered, args: list[str], lit: Lit) -> str:
    g.used["zero_pad_shortcut"] = True
    op: ops.ZeroPadShortcut = low.node.op
    out_channels = lit(op.out_channels, 'out_channels')  # slots in the order they are written
    return f"zero_pad_shortcut({args[0]}, {out_channels}, {lit(short_pair(op.stride), 'stride')})"


def _code_crop(g: Generator, low: Lowered, args: list[str], lit: Lit) -> str:
    g.used["center_crop"] = True
    return f"center_crop({args[0]}, {lit(short_pair(low.node.op.size), 'size')})"


def _code_gated_sum(g: Generator, low: Lowered, args: list[str], lit: Lit) -> str:
    g.used["gated_sum"] = True
    return f"gated_sum({', '.join(args)})"


def _code_channel_shuffle(g: Generator, low: Lowered, args: list[str], lit: Lit) -> str:
    g.used["channel_shuffle"] = True
    return f"channel_shuffle({args[0]}, {lit(low.node.op.groups, 'shuffle_groups')})"  # a count, not a width


def _code_channel_slice(g: Generator, low: Lowered, args: list[str], lit: Lit) -> str:
    op: ops.ChannelSlice = low.node.op
    return f"{args[0]}[:, {lit(op.start, 'start')}:{lit(op.stop, 'stop')}]"


def _code_channel_affine(g: Generator, low: Lowered, args: list[str], lit: Lit) -> str:
    g.used["channel_affine"] = True
    op: ops.ChannelAffine = low.node.op
    return f"channel_affine({args[0]}, {lit(op.scale, 'scale')}, {lit(op.shift, 'shift')})"


FUNCTIONAL_CODE: dict[type, Callable[[Generator, Lowered, list[str], Lit], str]] = {
    ops.Add: _code_add,
    ops.Mul: _code_mul,
    ops.Concat: _code_concat,
    ops.ZeroPadShortcut: _code_zero_pad,
    ops.Crop: _code_crop,
    ops.GatedSum: _code_gated_sum,
    ops.ChannelShuffle: _code_channel_shuffle,
    ops.ChannelSlice: _code_channel_slice,
    ops.ChannelAffine: _code_channel_affine,
}


# Parameter ops: how the forward applies the parameter `ref` to the inputs.
PARAMETER_CODE: dict[type, Callable[[str, list[str]], str]] = {
    ops.LayerScale: lambda ref, args: f"{ref} * {args[0]}",
}


# The functional forms below compute exactly what the modules of the Call table compute.
# Activation name -> (function, {our argument: its keyword}, fixed positional arguments after the input).
ACTIVATION_CODE: dict[str, tuple[str, dict[str, str], tuple[str, ...]]] = {
    "relu": ("F.relu", {}, ()),
    "relu6": ("F.relu6", {}, ()),
    "sigmoid": ("torch.sigmoid", {}, ()),
    "hardsigmoid": ("F.hardsigmoid", {}, ()),
    "silu": ("F.silu", {}, ()),
    "hardswish": ("F.hardswish", {}, ()),
    "gelu": ("F.gelu", {"approximate": "approximate"}, ()),
    "leaky_relu": ("F.leaky_relu", {"slope": "negative_slope"}, ()),
    "elu": ("F.elu", {"alpha": "alpha"}, ()),
    "tanh": ("torch.tanh", {}, ()),
    "softmax": ("torch.softmax", {}, ("1",)),
    "scale": ("torch.mul", {"factor": "other"}, ()),
}


def _code_activation(g: Generator, low: Lowered, args: list[str], lit: Lit) -> str:
    op: ops.Activation = low.node.op
    fn, rename, fixed = ACTIVATION_CODE[op.function]
    parts = [args[0], *fixed, *(f"{rename[k]}={lit(v, rename[k])}" for k, v in op.args)]
    if low.inplace:
        parts.append("inplace=True")
    return f"{fn}({', '.join(parts)})"


def _code_pool(g: Generator, low: Lowered, args: list[str], lit: Lit) -> str:
    call = low.layer
    fn = {"nn.MaxPool2d": "F.max_pool2d", "nn.AvgPool2d": "F.avg_pool2d"}[call.callee]
    kw = ", ".join(f"{k}={lit(v, k)}" for k, v in call.args)
    return f"{fn}({args[0]}, {kw})"


def _code_adaptive_pool(g: Generator, low: Lowered, args: list[str], lit: Lit) -> str:
    fn = {"max": "F.adaptive_max_pool2d", "avg": "F.adaptive_avg_pool2d"}[low.node.op.mode]
    return f"{fn}({args[0]}, {lit(short_pair(low.node.op.output), 'output_size')})"


def _code_flatten(g: Generator, low: Lowered, args: list[str], lit: Lit) -> str:
    return f"torch.flatten({args[0]}, 1)"


def _code_dropout(g: Generator, low: Lowered, args: list[str], lit: Lit) -> str:
    fn = "F.dropout2d" if low.node.op.spatial else "F.dropout"
    return f"{fn}({args[0]}, {lit(low.node.op.p, 'p')}, self.training)"


def _code_lrn(g: Generator, low: Lowered, args: list[str], lit: Lit) -> str:
    op: ops.LocalResponseNorm = low.node.op
    return (f"F.local_response_norm({args[0]}, {lit(op.size, 'size')}, alpha={lit(op.alpha, 'alpha')}, "
            f"beta={lit(op.beta, 'beta')}, k={lit(op.k, 'k')})")


def _code_upsample(g: Generator, low: Lowered, args: list[str], lit: Lit) -> str:
    kw = ", ".join(f"{k}={lit(v, k)}" for k, v in low.layer.args)  # nn.Upsample's keywords are F.interpolate's
    return f"F.interpolate({args[0]}, {kw})"


FUNCTION_LAYER_CODE: dict[type, Callable[[Generator, Lowered, list[str], Lit], str]] = {
    ops.Activation: _code_activation,
    ops.Pool: _code_pool,
    ops.AdaptivePool: _code_adaptive_pool,
    ops.Flatten: _code_flatten,
    ops.Dropout: _code_dropout,
    ops.LocalResponseNorm: _code_lrn,
    ops.Upsample: _code_upsample,
}
