"""The PyTorch back end: lower a checked `Network` to a `torch.nn.Module`.

Every layer node (`op.is_layer`) becomes a submodule registered at its module path, inside plain
container modules for the scopes on the way (`layer3` -> `layer3.5` -> `layer3.5.conv2`), so
`state_dict()` keys are the spec's paths — torchvision's where the spec uses torchvision's names.
Functional nodes (add, concat, zero-pad, crop, gate) become plain functions.

The forward interprets a plan computed once: one `(callable, input slots, output slot, dead slots)`
step per node in topological order, freeing every intermediate tensor after its last reader, as a
hand-written forward does by rebinding its variables.

How each layer is constructed is described by a `Call` (callee name + arguments) rather than built
directly, so the Python code generator (`resdsl.backends.pycode`) writes exactly the same constructors,
and the small runtime pieces below (`DropPath`, `zero_pad_shortcut`, ...) are copied verbatim into the
generated file.  Both back ends share `lower()`, which makes every per-node decision once.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass
from functools import partial, reduce
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from resdsl.diagnostics import NameResolutionError
from resdsl.ir import ops
from resdsl.ir.graph import Graph, Node, Scope
from resdsl.ir.names import label_problem
from resdsl.ir.types import TensorType
from resdsl.network import Network

__all__ = ["build_module", "ResdslModule", "lower", "Lowered", "Call", "ParameterInit", "DropPath",
           "zero_pad_shortcut", "center_crop", "gated_sum", "LayerNorm2d", "ChannelLinear", "channel_shuffle",
           "channel_slice", "layer_scale", "Scale", "MeanJoin", "count_flops", "example_input", "RUNTIME"]


# ---- runtime pieces: copied into generated code, so they may use only `torch`, `nn` and `F` ---------


class DropPath(nn.Module):
    """Stochastic depth on a residual branch that survives training with probability `survival`.

    mode="paper" (Huang et al. 2016): training keeps the whole branch or replaces it by zeros, one
    draw per mini-batch; evaluation scales the branch by `survival`, its expected value in training.
    mode="row" (torchvision's StochasticDepth(p, "row")): training keeps each sample's branch with
    probability `survival` and divides the kept ones by it; evaluation is the identity.
    mode="batch": as "row" with one draw for the whole mini-batch (torchvision's "batch").
    """

    def __init__(self, survival: float, mode: str = "paper"):
        super().__init__()
        self.survival = survival
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.survival >= 1.0:
            return x
        if self.mode == "paper":
            if not self.training:
                return x * self.survival
            # A 0-d 0/1 tensor on the device, not a Python branch: no host sync, no graph break.
            keep = torch.empty((), dtype=x.dtype, device=x.device).bernoulli_(self.survival)
            return x * keep
        if not self.training:
            return x
        size = [x.shape[0]] + [1] * (x.ndim - 1) if self.mode == "row" else [1] * x.ndim
        noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(self.survival)
        if self.survival > 0.0:
            noise.div_(self.survival)
        return x * noise

    def extra_repr(self) -> str:
        text = f"survival={self.survival:.4g}"
        return text if self.mode == "paper" else f"{text}, mode={self.mode!r}"


class MeanJoin(nn.Module):
    """FractalNet's join (Larsson et al. 2017): the mean of the inputs.  Training with local drop-path
    drops each input with probability `drop` (one draw per mini-batch and input), keeps at least one,
    and averages the survivors; evaluation averages every input."""

    def __init__(self, drop: float = 0.0):
        super().__init__()
        self.drop = drop

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        if self.training and self.drop > 0:
            keep = (torch.rand(len(xs)) >= self.drop).tolist()
            if not any(keep):
                keep[int(torch.randint(len(xs), ()))] = True
            xs = tuple(x for x, k in zip(xs, keep) if k)
        return torch.stack(xs).mean(0)

    def extra_repr(self) -> str:
        return f"drop={self.drop:g}"


def zero_pad_shortcut(x: torch.Tensor, out_channels: int, stride: int | tuple[int, int]) -> torch.Tensor:
    """Shortcut option A (He et al. 2016): subsample by `stride`, then append zero channels up to
    `out_channels`.  No parameters."""
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    if sh != 1 or sw != 1:
        x = x[:, :, ::sh, ::sw]
    return F.pad(x, (0, 0, 0, 0, 0, out_channels - x.shape[1]))


def center_crop(x: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """Crop the centre `size` of a feature map (U-Net's skip connections across valid convs)."""
    h, w = (size, size) if isinstance(size, int) else size
    top, left = (x.shape[2] - h) // 2, (x.shape[3] - w) // 2
    return x[:, :, top:top + h, left:left + w]


def gated_sum(h: torch.Tensor, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Highway merge (Srivastava et al. 2015): the transform `h` where the gate `t` is open, else the
    carried input `x`."""
    return h * t + x * (1 - t)


class LayerNorm2d(nn.LayerNorm):
    """Layer norm over the channels of an NxCxHxW map (torchvision's ConvNeXt LayerNorm2d)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class ChannelLinear(nn.Linear):
    """A fully connected layer applied to the channels at every position of an NxCxHxW map."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x.permute(0, 2, 3, 1), self.weight, self.bias).permute(0, 3, 1, 2)


class Scale(nn.Module):
    """Multiplies by a constant (Inception-ResNet scales each residual before adding it)."""

    def __init__(self, factor: float):
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor

    def extra_repr(self) -> str:
        return f"factor={self.factor}"


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """ShuffleNet's channel shuffle: channels as (groups, C/groups), transposed, flattened back."""
    n, c, h, w = x.shape
    x = x.reshape(n, groups, c // groups, h, w)
    return torch.transpose(x, 1, 2).contiguous().view(n, c, h, w)


def channel_slice(x: torch.Tensor, start: int, stop: int) -> torch.Tensor:
    """Channels [start, stop) of a map: one part of a split."""
    return x[:, start:stop]


def layer_scale(scale: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """`x` scaled by a learned per-channel (C, 1, 1) parameter (ConvNeXt's layer scale)."""
    return scale * x

RUNTIME: dict[str, Any] = {"DropPath": DropPath, "zero_pad_shortcut": zero_pad_shortcut,
                           "center_crop": center_crop, "gated_sum": gated_sum, "LayerNorm2d": LayerNorm2d,
                           "ChannelLinear": ChannelLinear, "channel_shuffle": channel_shuffle,
                           "channel_slice": channel_slice, "layer_scale": layer_scale, "Scale": Scale,
                           "MeanJoin": MeanJoin}


# ---- constructor descriptions: one table, op class -> the call that builds its module -------------


@dataclass(frozen=True)
class Call:
    """`callee(arg0, arg1, name=value, ...)`: the first `positional` arguments are written without names.
    `callee` is `nn.<Class>` or a name in `RUNTIME`; values are ints, floats, bools or tuples."""

    callee: str
    args: tuple[tuple[str, Any], ...]
    positional: int = 0

    def build(self) -> nn.Module:
        cls = getattr(nn, self.callee[3:]) if self.callee.startswith("nn.") else RUNTIME[self.callee]
        values = [v for _, v in self.args]
        return cls(*values[:self.positional], **dict(self.args[self.positional:]))


def _short(p: tuple[int, int]) -> int | tuple[int, int]:
    """3 for (3, 3): what torch accepts and what people write."""
    return p[0] if p[0] == p[1] else p


def _conv(op: ops.Conv, site: "Site") -> Call:
    args = [("in_channels", op.in_channels), ("out_channels", op.out_channels),
            ("kernel_size", _short(op.kernel)), ("stride", _short(op.stride)),
            ("padding", _short(op.padding))]
    if op.dilation != (1, 1):
        args.append(("dilation", _short(op.dilation)))
    if op.groups != 1:
        args.append(("groups", op.groups))
    args.append(("bias", op.bias))
    return Call("nn.Conv2d", tuple(args), positional=2)


def _conv_transpose(op: ops.ConvTranspose, site: "Site") -> Call:
    return Call("nn.ConvTranspose2d", (("in_channels", op.in_channels), ("out_channels", op.out_channels),
                                        ("kernel_size", _short(op.kernel)), ("stride", _short(op.stride)),
                                        ("padding", _short(op.padding)), ("bias", op.bias)), positional=2)


def _batchnorm(op: ops.BatchNorm, site: "Site") -> Call:
    # A batch norm after flatten normalises features, not maps.
    cls = "nn.BatchNorm2d" if site.input_types[0].is_image else "nn.BatchNorm1d"
    args: list[tuple[str, Any]] = [("num_features", op.channels)]
    if op.eps != 1e-5:
        args.append(("eps", op.eps))
    if op.momentum != 0.1:
        args.append(("momentum", op.momentum))
    return Call(cls, tuple(args), positional=1)


# Activation name -> (module, {our argument: its keyword}, fixed keywords).  In-place is decided by the
# activation's facts (`resdsl.ir.activations`), spelled `inplace=True` here.
ACTIVATIONS: dict[str, tuple[str, dict[str, str], tuple[tuple[str, Any], ...]]] = {
    "relu": ("nn.ReLU", {}, ()),
    "relu6": ("nn.ReLU6", {}, ()),
    "sigmoid": ("nn.Sigmoid", {}, ()),
    "hardsigmoid": ("nn.Hardsigmoid", {}, ()),
    "silu": ("nn.SiLU", {}, ()),
    "hardswish": ("nn.Hardswish", {}, ()),
    "gelu": ("nn.GELU", {"approximate": "approximate"}, ()),
    "leaky_relu": ("nn.LeakyReLU", {"slope": "negative_slope"}, ()),
    "elu": ("nn.ELU", {"alpha": "alpha"}, ()),
    "tanh": ("nn.Tanh", {}, ()),
    "softmax": ("nn.Softmax", {}, (("dim", 1),)),
    "scale": ("Scale", {"factor": "factor"}, ()),
}


def _activation(op: ops.Activation, site: "Site") -> Call:
    spelling = ACTIVATIONS.get(op.function)
    if spelling is None:
        raise TypeError(f"the torch back end has no spelling for the activation {op.function!r}")
    callee, rename, fixed = spelling
    args = [*fixed, *((rename[k], v) for k, v in op.args)]
    if site.inplace:
        args.append(("inplace", True))
    return Call(callee, tuple(args))


POOLS: dict[str, str] = {"max": "nn.MaxPool2d", "avg": "nn.AvgPool2d"}
ADAPTIVE_POOLS: dict[str, str] = {"max": "nn.AdaptiveMaxPool2d", "avg": "nn.AdaptiveAvgPool2d"}


def _pool(op: ops.Pool, site: "Site") -> Call:
    args: list[tuple[str, Any]] = [("kernel_size", _short(op.kernel)), ("stride", _short(op.stride)),
                                   ("padding", _short(op.padding))]
    if op.ceil_mode:
        args.append(("ceil_mode", True))
    if op.mode == "avg" and not op.count_include_pad:
        args.append(("count_include_pad", False))
    return Call(POOLS[op.mode], tuple(args))


def _adaptive_pool(op: ops.AdaptivePool, site: "Site") -> Call:
    return Call(ADAPTIVE_POOLS[op.mode], (("output_size", _short(op.output)),), positional=1)


def _linear(op: ops.Linear, site: "Site") -> Call:
    return Call("nn.Linear", (("in_features", op.in_features), ("out_features", op.out_features),
                              ("bias", op.bias)), positional=2)


def _flatten(op: ops.Flatten, site: "Site") -> Call:
    return Call("nn.Flatten", ())


def _dropout(op: ops.Dropout, site: "Site") -> Call:
    return Call("nn.Dropout", (("p", op.p),))


def _mean(op: ops.Mean, site: "Site") -> Call:
    return Call("MeanJoin", (("drop", op.drop),))


def _drop_path(op: ops.DropPath, site: "Site") -> Call:
    mode = (("mode", op.mode),) if op.mode != "paper" else ()
    return Call("DropPath", (("survival", op.survival),) + mode, positional=1)


def _prelu(op: ops.PReLU, site: "Site") -> Call:
    return Call("nn.PReLU", (("num_parameters", op.channels), ("init", op.init)))


def _layernorm(op: ops.LayerNorm, site: "Site") -> Call:
    # Over the channels of a map (torchvision's LayerNorm2d), or over the features of a vector.
    cls = "LayerNorm2d" if site.input_types[0].is_image else "nn.LayerNorm"
    return Call(cls, (("normalized_shape", op.channels), ("eps", op.eps)), positional=1)


def _groupnorm(op: ops.GroupNorm, site: "Site") -> Call:
    args: list[tuple[str, Any]] = [("num_groups", op.groups), ("num_channels", op.channels)]
    if op.eps != 1e-5:
        args.append(("eps", op.eps))
    return Call("nn.GroupNorm", tuple(args), positional=2)


def _lrn(op: ops.LocalResponseNorm, site: "Site") -> Call:
    return Call("nn.LocalResponseNorm", (("size", op.size), ("alpha", op.alpha), ("beta", op.beta), ("k", op.k)),
                positional=1)


def _channel_linear(op: ops.ChannelLinear, site: "Site") -> Call:
    return Call("ChannelLinear", (("in_features", op.in_channels), ("out_features", op.out_channels),
                                  ("bias", op.bias)), positional=2)


def _upsample(op: ops.Upsample, site: "Site") -> Call:
    args: list[tuple[str, Any]] = [("size", _short(op.size)) if op.size is not None else ("scale_factor", op.scale),
                                   ("mode", op.mode)]
    if op.mode == "bilinear":
        args.append(("align_corners", op.align_corners))
    return Call("nn.Upsample", tuple(args))


LAYERS: dict[type, Callable[[Any, "Site"], Call]] = {
    ops.Conv: _conv,
    ops.ConvTranspose: _conv_transpose,
    ops.BatchNorm: _batchnorm,
    ops.Activation: _activation,
    ops.Pool: _pool,
    ops.AdaptivePool: _adaptive_pool,
    ops.Linear: _linear,
    ops.Flatten: _flatten,
    ops.Dropout: _dropout,
    ops.DropPath: _drop_path,
    ops.Mean: _mean,
    ops.PReLU: _prelu,
    ops.LayerNorm: _layernorm,
    ops.GroupNorm: _groupnorm,
    ops.LocalResponseNorm: _lrn,
    ops.ChannelLinear: _channel_linear,
    ops.Upsample: _upsample,
}


@dataclass(frozen=True)
class ParameterInit:
    """A learned tensor registered on its scope's module under the op's label, filled with `fill`."""

    shape: tuple[int, ...]
    fill: float

    def build(self) -> nn.Parameter:
        return nn.Parameter(torch.full(self.shape, self.fill))


# Parameter ops: op class -> (its tensor, the function applying it: fn(parameter, x)).
PARAMETERS: dict[type, tuple[Callable[[Any], ParameterInit], Callable]] = {
    ops.LayerScale: (lambda op: ParameterInit((op.channels, 1, 1), op.init), layer_scale),
}


# ---- lowering: every per-node decision, made once for both back ends -----------------------------

@dataclass(frozen=True)
class Site:
    """What a constructor needs to know about where its op sits."""

    input_types: tuple[TensorType, ...]
    inplace: bool


@dataclass(frozen=True)
class Lowered:
    node: Node
    layer: "Call | ParameterInit | None"  # how to construct the node's module or parameter (layer ops only)
    inplace: bool       # ReLU: inplace=True; Add: accumulate into the first input
    flatten: bool       # a Linear reading a feature map flattens it first (start_dim=1)


def lower(graph: Graph) -> tuple[Lowered, ...]:
    """One `Lowered` per node (the input included, with no layer)."""
    users = graph.users
    out = []
    for node in graph.nodes:
        op = node.op
        inputs = tuple(graph.nodes[i].type for i in node.inputs)
        inplace = _may_overwrite(graph, node, users)
        layer: Call | ParameterInit | None = None
        if op.is_parameter:
            entry = PARAMETERS.get(type(op))
            if entry is None:
                raise TypeError(f"the torch back end has no parameter for {type(op).__name__}")
            layer = entry[0](op)
        elif op.is_layer:
            builder = LAYERS.get(type(op))
            if builder is None:
                raise TypeError(f"the torch back end has no layer for {type(op).__name__}")
            layer = builder(op, Site(inputs, inplace))
        flatten = isinstance(op, ops.Linear) and len(inputs[0].shape) > 1
        out.append(Lowered(node, layer, inplace, flatten))
    return tuple(out)


def _may_overwrite(graph: Graph, node: Node, users: Sequence[Sequence[int]]) -> bool:
    """True when this node may write its result into its first input's tensor: the op can (`Op.inplace`;
    an add of exactly two), the input is an overwritable intermediate (`Op.overwritable`: its backward
    does not read it; not the network input or output, never a view) and nobody else reads it."""
    op = node.op
    if not op.inplace or len(node.inputs) > 2:
        return False
    first = node.inputs[0]
    producer = graph.nodes[first]
    return (producer.op.overwritable and first != graph.output
            and len(users[first]) == 1 and node.inputs.count(first) == 1)


# ---- functional nodes: op class -> a callable taking the input tensors -------------------------------
# Plan entries are modules, module-level functions or partials of them, never closures: so a model
# pickles, and copy.deepcopy gives a plan that calls the copied layers.


def _add_all(*xs: torch.Tensor) -> torch.Tensor:
    return reduce(operator.add, xs)


def _mul_all(*xs: torch.Tensor) -> torch.Tensor:
    return reduce(operator.mul, xs)


def _concat(*xs: torch.Tensor) -> torch.Tensor:
    return torch.cat(xs, 1)


def _apply_parameter(fn: Callable, owner: nn.Module, name: str, x: torch.Tensor) -> torch.Tensor:
    return fn(getattr(owner, name), x)


def _flatten_then(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return layer(torch.flatten(x, 1))


def _fn_add(item: Lowered) -> Callable:
    if item.inplace:
        return operator.iadd
    return operator.add if len(item.node.inputs) == 2 else _add_all


def _fn_mul(item: Lowered) -> Callable:
    return operator.mul if len(item.node.inputs) == 2 else _mul_all


def _fn_zero_pad(item: Lowered) -> Callable:
    op: ops.ZeroPadShortcut = item.node.op
    return partial(zero_pad_shortcut, out_channels=op.out_channels, stride=_short(op.stride))


def _fn_crop(item: Lowered) -> Callable:
    return partial(center_crop, size=_short(item.node.op.size))


def _fn_channel_shuffle(item: Lowered) -> Callable:
    return partial(channel_shuffle, groups=item.node.op.groups)


def _fn_channel_slice(item: Lowered) -> Callable:
    return partial(channel_slice, start=item.node.op.start, stop=item.node.op.stop)


FUNCTIONS: dict[type, Callable[[Lowered], Callable]] = {
    ops.Add: _fn_add,
    ops.Mul: _fn_mul,
    ops.Concat: lambda item: _concat,
    ops.ZeroPadShortcut: _fn_zero_pad,
    ops.Crop: _fn_crop,
    ops.GatedSum: lambda item: gated_sum,
    ops.ChannelShuffle: _fn_channel_shuffle,
    ops.ChannelSlice: _fn_channel_slice,
}


# ---- the module ----------------------------------------------------------------------------------


class Stage(nn.Module):
    """A stage of the network (`layer1`); its layers are called by the network's forward."""

    def __init__(self, scope: Scope | None):
        super().__init__()
        self.resdsl_block = scope.block if scope is not None else None

    def extra_repr(self) -> str:
        return f"block={self.resdsl_block}" if self.resdsl_block else ""


class Block(Stage):
    """One block instance (`layer1.0`)."""


class Group(Stage):
    """A labelled group of layers (`downsample`, `features`)."""


CONTAINERS: dict[str, type[nn.Module]] = {"stage": Stage, "block": Block, "group": Group}

# One step of the forward: (callable, input slots, output slot, slots freed after the step).
Step = tuple[Callable, tuple[int, ...], int, tuple[int, ...]]


class ResdslModule(nn.Module):
    """A network built from a resdsl spec.  `resdsl_network` is the checked network it was built from;
    `input_shape` / `output_shape` are the shapes of one sample (no batch dimension)."""

    def __init__(self, net: Network):
        super().__init__()
        # Set before any submodule, so a layer label that shadows them is refused by add_module.
        self.resdsl_network = net
        self.input_shape: tuple[int, ...] = net.input_type.shape
        self.output_shape: tuple[int, ...] = net.output_type.shape
        graph = net.graph
        scopes = {s.path: s for s in graph.scopes}
        lowered = lower(graph)
        calls: list[Callable | None] = [None] * len(graph.nodes)
        for item in lowered[1:]:
            node = item.node
            if isinstance(item.layer, ParameterInit):
                _place(self, node, item.layer.build(), scopes)
                owner_path, _, name = node.path.rpartition(".")
                # Looked up at every call, not captured: load_state_dict(assign=True) and to_empty()
                # put a new tensor in the parameter's place.
                calls[node.id] = partial(_apply_parameter, PARAMETERS[type(node.op)][1],
                                         self.get_submodule(owner_path), name)
            elif item.layer is not None:
                module = item.layer.build()
                _place(self, node, module, scopes)
                calls[node.id] = partial(_flatten_then, module) if item.flatten else module
            else:
                calls[node.id] = FUNCTIONS[type(node.op)](item)
        self._plan: tuple[Step, ...] = _plan(graph, calls)
        self._slots = len(graph.nodes)
        self._output = graph.output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values: list[Any] = [None] * self._slots
        values[0] = x
        for fn, args, out, dead in self._plan:
            values[out] = fn(*[values[i] for i in args])
            for i in dead:
                values[i] = None
        return values[self._output]

    def extra_repr(self) -> str:
        net = self.resdsl_network
        return f"{net.name}: input {net.input_type} -> output {net.output_type}"


def build_module(net: Network) -> ResdslModule:
    """The network as a `torch.nn.Module` (in training mode, freshly initialised by torch's defaults).
    Build under `with torch.device("meta"):` to inspect a large network without allocating it."""
    return ResdslModule(net)


def _plan(graph: Graph, calls: Sequence[Callable | None]) -> tuple[Step, ...]:
    n = len(graph.nodes)
    last_use = list(range(n))  # a value nobody reads is dropped right after it is made
    for node in graph.nodes:
        for i in node.inputs:
            last_use[i] = node.id  # ids grow along the topological order: the last write wins
    dead: list[list[int]] = [[] for _ in range(n)]
    for value, step in enumerate(last_use):
        if value != graph.output:
            dead[step].append(value)
    return tuple((calls[node.id], node.inputs, node.id, tuple(dead[node.id])) for node in graph.nodes[1:])


def _place(root: nn.Module, node: Node, module: nn.Module | nn.Parameter, scopes: dict[str, Scope]) -> None:
    """Register `module` at `node.path`, creating the containers on the way in first-use order."""
    *parents, leaf = node.path.split(".")
    owner = root
    for depth, part in enumerate(parents):
        child = owner._modules.get(part)
        if child is None:
            scope = scopes.get(".".join(parents[:depth + 1]))
            child = CONTAINERS.get(scope.kind if scope else "group", Group)(scope)
            _register(owner, part, child, node)
        elif not isinstance(child, Stage):
            raise NameResolutionError(f"'{'.'.join(parents[:depth + 1])}' is both a layer and a group of "
                                      f"layers", node.span, "give the group or the layer another label")
        owner = child
    _register(owner, leaf, module, node)


def _register(owner: nn.Module, name: str, module: nn.Module | nn.Parameter, node: Node) -> None:
    problem = label_problem(name)
    if problem is not None:  # `check` refuses these at the label (resdsl.ir.names); a hand-made graph may not
        raise NameResolutionError(f"{problem[0]} (layer {node.path})", node.span, problem[1])
    try:
        if isinstance(module, nn.Parameter):
            owner.register_parameter(name, module)
        else:
            owner.add_module(name, module)
    except KeyError:
        raise NameResolutionError(
            f"the label '{name}' (layer {node.path}) clashes with an attribute of torch.nn.Module",
            node.span, "rename it; PyTorch reserves names like forward, training, state_dict, to") from None


# ---- measuring a built module (used by `resdsl compile --check` and the tests) ----------------------


def example_input(module: ResdslModule, batch: int = 1, device: torch.device | str | None = None,
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A random input batch of the shape the module was built for."""
    return torch.randn(batch, *module.input_shape, device=device, dtype=dtype)


def count_flops(module: nn.Module, x: torch.Tensor) -> int:
    """FLOPs of one forward on `x` as `torch.utils.flop_counter` counts them (conv, linear and
    transposed conv; 2 per multiply-accumulate).  Works on the meta device, without computing."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        module(x)
    return counter.get_total_flops()
