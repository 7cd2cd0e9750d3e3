"""Lowering a checked network for the PyTorch back ends, without torch.

Every per-node decision both the torch back end (`resdsl.backends.torch`) and the code generator
(`resdsl.backends.pycode`) rely on is made here, once, so the module `resdsl.build` returns and the
code `resdsl compile` writes agree by construction:

  * `LAYERS`: op class -> the `Call` that constructs its module (`nn.Conv2d(64, 128, kernel_size=3, ...)`);
    `ACTIVATIONS` spells each activation; `PARAMETERS`: op class -> the learned tensor a parameter op
    registers.  This is the torch spelling of every layer op; a new layer primitive adds one entry here.
  * `units()`: which scopes become callable modules (a function of its inputs: a block, a stage as
    `nn.Sequential`), which stay containers, and which have no module at all.
  * `lower()`: in-place ReLU / `+=` where that is safe, flatten before an fc on a feature map.

Nothing here imports torch: generating text must not need it (tests/test_pycode.py checks).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from resdsl.ir import ops
from resdsl.ir.graph import Graph, Node, Scope
from resdsl.ir.types import TensorType

__all__ = ["Call", "ParameterInit", "LAYERS", "ACTIVATIONS", "PARAMETERS", "Site", "Lowered", "lower", "Unit",
           "units", "passes_indices", "short", "CALLABLE", "SEQUENTIAL", "CONTAINER", "NO_MODULE"]


@dataclass(frozen=True)
class Call:
    """`callee(arg0, arg1, name=value, ...)`: the first `positional` arguments are written without names.
    `callee` is `nn.<Class>` or a runtime piece (`resdsl.backends.runtime`: `DropPath`); values are ints,
    floats, bools, option words or tuples of them."""

    callee: str
    args: tuple[tuple[str, Any], ...]
    positional: int = 0


@dataclass(frozen=True)
class ParameterInit:
    """A learned tensor registered on its scope's module under the op's label, filled with `fill`."""

    shape: tuple[int, ...]
    fill: float


def short(p: tuple[int, int]) -> int | tuple[int, int]:
    """3 for (3, 3): what torch accepts and what people write."""
    return p[0] if p[0] == p[1] else p


@dataclass(frozen=True)
class Site:
    """What a constructor needs to know about where its op sits."""

    input_types: tuple[TensorType, ...]
    inplace: bool
    returns_indices: bool = False  # a max pool whose indices an unpool reads (`Graph.indexed_pools`)


# ---- constructor descriptions: one table, op class -> the call that builds its module -------------


def _conv(op: ops.Conv, site: Site) -> Call:
    args = [("in_channels", op.in_channels), ("out_channels", op.out_channels),
            ("kernel_size", short(op.kernel)), ("stride", short(op.stride)),
            ("padding", short(op.padding))]
    if op.dilation != (1, 1):
        args.append(("dilation", short(op.dilation)))
    if op.groups != 1:
        args.append(("groups", op.groups))
    args.append(("bias", op.bias))
    return Call("nn.Conv2d", tuple(args), positional=2)


def _conv_transpose(op: ops.ConvTranspose, site: Site) -> Call:
    extra = (("output_padding", short(op.output_padding)),) if op.output_padding != (0, 0) else ()
    return Call("nn.ConvTranspose2d", (("in_channels", op.in_channels), ("out_channels", op.out_channels),
                                        ("kernel_size", short(op.kernel)), ("stride", short(op.stride)),
                                        ("padding", short(op.padding)), *extra, ("bias", op.bias)), positional=2)


def _batchnorm(op: ops.BatchNorm, site: Site) -> Call:
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


def _activation(op: ops.Activation, site: Site) -> Call:
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


def _pool(op: ops.Pool, site: Site) -> Call:
    args: list[tuple[str, Any]] = [("kernel_size", short(op.kernel)), ("stride", short(op.stride)),
                                   ("padding", short(op.padding))]
    if op.ceil_mode:
        args.append(("ceil_mode", True))
    if op.mode == "avg" and not op.count_include_pad:
        args.append(("count_include_pad", False))
    if site.returns_indices:
        args.append(("return_indices", True))
    return Call(POOLS[op.mode], tuple(args))


def _max_unpool(op: ops.MaxUnpool, site: Site) -> Call:
    return Call("MaxUnpool", (("kernel_size", short(op.kernel)), ("stride", short(op.stride)),
                              ("padding", short(op.padding)), ("size", op.size)), positional=1)


def _adaptive_pool(op: ops.AdaptivePool, site: Site) -> Call:
    return Call(ADAPTIVE_POOLS[op.mode], (("output_size", short(op.output)),), positional=1)


def _linear(op: ops.Linear, site: Site) -> Call:
    return Call("nn.Linear", (("in_features", op.in_features), ("out_features", op.out_features),
                              ("bias", op.bias)), positional=2)


def _flatten(op: ops.Flatten, site: Site) -> Call:
    return Call("nn.Flatten", ())


def _dropout(op: ops.Dropout, site: Site) -> Call:
    return Call("nn.Dropout2d" if op.spatial else "nn.Dropout", (("p", op.p),))


def _mean(op: ops.Mean, site: Site) -> Call:
    extra = (("columns", op.columns), ("global_drop", op.global_drop)) if op.global_drop else ()
    return Call("MeanJoin", (("drop", op.drop), *extra))


def _drop_path(op: ops.DropPath, site: Site) -> Call:
    mode = (("mode", op.mode),) if op.mode != "paper" else ()
    return Call("DropPath", (("survival", op.survival),) + mode, positional=1)


def _prelu(op: ops.PReLU, site: Site) -> Call:
    return Call("nn.PReLU", (("num_parameters", op.channels), ("init", op.init)))


def _layernorm(op: ops.LayerNorm, site: Site) -> Call:
    # Over the channels of a map (torchvision's LayerNorm2d), or over the features of a vector.
    cls = "LayerNorm2d" if site.input_types[0].is_image else "nn.LayerNorm"
    return Call(cls, (("normalized_shape", op.channels), ("eps", op.eps)), positional=1)


def _groupnorm(op: ops.GroupNorm, site: Site) -> Call:
    args: list[tuple[str, Any]] = [("num_groups", op.groups), ("num_channels", op.channels)]
    if op.eps != 1e-5:
        args.append(("eps", op.eps))
    return Call("nn.GroupNorm", tuple(args), positional=2)


def _lrn(op: ops.LocalResponseNorm, site: Site) -> Call:
    return Call("nn.LocalResponseNorm", (("size", op.size), ("alpha", op.alpha), ("beta", op.beta), ("k", op.k)),
                positional=1)


def _channel_linear(op: ops.ChannelLinear, site: Site) -> Call:
    return Call("ChannelLinear", (("in_features", op.in_channels), ("out_features", op.out_channels),
                                  ("bias", op.bias)), positional=2)


def _upsample(op: ops.Upsample, site: Site) -> Call:
    args: list[tuple[str, Any]] = [("size", short(op.size)) if op.size is not None else ("scale_factor", op.scale),
                                   ("mode", op.mode)]
    if op.mode == "bilinear":
        args.append(("align_corners", op.align_corners))
    return Call("nn.Upsample", tuple(args))


LAYERS: dict[type, Callable[[Any, Site], Call]] = {
    ops.Conv: _conv,
    ops.ConvTranspose: _conv_transpose,
    ops.BatchNorm: _batchnorm,
    ops.Activation: _activation,
    ops.Pool: _pool,
    ops.MaxUnpool: _max_unpool,
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


# Parameter ops: op class -> its tensor (the torch back end and the code generator each spell how it is
# applied: `resdsl.backends.torch.PARAMETER_FUNCTIONS`, `resdsl.backends.pycode_ops.PARAMETER_CODE`).
PARAMETERS: dict[type, Callable[[Any], ParameterInit]] = {
    ops.LayerScale: lambda op: ParameterInit((op.channels, 1, 1), op.init),
}


# ---- units: what each scope becomes ----------------------------------------------------------------

CALLABLE = "callable"      # a module with a forward of its own (a block instance, the network)
SEQUENTIAL = "sequential"  # a callable whose items simply follow each other: nn.Sequential
CONTAINER = "container"    # holds layers that an enclosing module's forward calls
NO_MODULE = "none"         # no layer inside: its ops belong to the enclosing forward


@dataclass(frozen=True)
class Unit:
    scope: Scope
    nodes: tuple[int, ...]     # every node in the scope and its sub-scopes, in order
    inputs: tuple[int, ...]    # nodes outside read inside, in order
    outputs: tuple[int, ...]   # nodes inside read outside (or the network's output)
    first_layer: int | None    # the first layer node inside: the registration order of modules
    kind: str


def units(graph: Graph) -> tuple[Unit, ...]:
    """One `Unit` per scope (aligned with `graph.scopes`).

    A scope is callable when it is a function of its inputs: its nodes are consecutive in the graph (so
    calling it as one step keeps the order valid), it reads at least one value from outside and exactly
    one of its values is read outside.  Callables whose items each read the previous one's output are
    sequential."""
    members: list[list[int]] = [[] for _ in graph.scopes]
    for node in graph.nodes:
        for scope in graph.scope_chain(node.scope):
            members[scope.id].append(node.id)
    users = graph.users
    ends = {graph.output} | {h.output for h in graph.heads}  # the network's outputs, aux heads' included
    raw = []
    for scope, nodes in zip(graph.scopes, members):
        inside = set(nodes)
        inputs = tuple(sorted({i for n in nodes for i in graph.nodes[n].inputs if i not in inside}))
        outputs = tuple(n for n in nodes if n in ends or any(u not in inside for u in users[n]))
        first = next((n for n in nodes if graph.nodes[n].op.is_layer), None)
        raw.append((scope, tuple(nodes), inputs, outputs, first))
    kinds: list[str] = [NO_MODULE] * len(raw)
    children: list[list[int]] = [[] for _ in raw]
    for scope in graph.scopes[1:]:
        children[scope.parent].append(scope.id)
    for sid in reversed(range(len(raw))):  # children have larger ids than their parents
        scope, nodes, inputs, outputs, first = raw[sid]
        if sid == 0:
            kinds[sid] = CALLABLE
        elif first is None:
            kinds[sid] = NO_MODULE
        elif (nodes[-1] - nodes[0] + 1 == len(nodes) and inputs and len(outputs) == 1
              and not passes_indices(graph, nodes, inputs, outputs)
              and _owns_its_layers(graph, scope, nodes)):
            kinds[sid] = SEQUENTIAL if _is_chain(graph, sid, raw, kinds, children) else CALLABLE
        else:
            kinds[sid] = CONTAINER
    return tuple(Unit(*r, kind=k) for r, k in zip(raw, kinds))


def passes_indices(graph: Graph, nodes: Sequence[int], inputs: Sequence[int], outputs: Sequence[int]) -> bool:
    """A max pool's indices would cross the scope's edge (its output is an indexed pool, or an unpool
    inside reads a pool outside): a forward takes and returns one tensor each, so it stays a container."""
    if any(o in graph.indexed_pools for o in outputs):
        return True
    outside = set(inputs)
    return any(graph.nodes[n].op.indices_input is not None
               and graph.nodes[n].inputs[graph.nodes[n].op.indices_input] in outside for n in nodes)


def _owns_its_layers(graph: Graph, scope: Scope, nodes: Sequence[int]) -> bool:
    """Every layer inside lives below the scope's module path (a block that splices another block's
    layers into its own scope may name them elsewhere)."""
    prefix = scope.path + "."
    return bool(scope.path) and all(graph.nodes[n].path.startswith(prefix) for n in nodes
                                    if graph.nodes[n].op.is_layer)


def _is_chain(graph: Graph, sid: int, raw, kinds: list[str], children: list[list[int]]) -> bool:
    scope, nodes, inputs, outputs, first = raw[sid]
    if len(inputs) != 1:
        return False
    callable_children = {c: raw[c] for c in children[sid] if kinds[c] in (CALLABLE, SEQUENTIAL)}
    owner = {n: c for c, r in callable_children.items() for n in r[1]}
    previous = inputs[0]
    seen: set[int] = set()
    for nid in nodes:
        node = graph.nodes[nid]
        child = owner.get(nid)
        if child is not None:
            if child in seen:
                continue
            seen.add(child)
            if callable_children[child][2] != (previous,):
                return False
            previous = callable_children[child][3][0]
            continue
        if (node.scope != sid or not node.op.is_layer or node.op.is_parameter or node.inputs != (previous,)
                or _flattens(graph, node)):
            return False
        previous = nid
    return previous == outputs[0]


def _flattens(graph: Graph, node: Node) -> bool:
    return isinstance(node.op, ops.Linear) and len(graph.nodes[node.inputs[0]].type.shape) > 1


def home_units(graph: Graph, table: Sequence[Unit]) -> tuple[int, ...]:
    """For each node, the innermost callable unit whose forward computes it."""
    home = [0] * len(graph.nodes)
    for unit in table[1:]:  # outer scopes first, so inner ones overwrite
        if unit.kind in (CALLABLE, SEQUENTIAL):
            for n in unit.nodes:
                home[n] = unit.scope.id
    return tuple(home)


# ---- lowering: every per-node decision, made once for both back ends -----------------------------


@dataclass(frozen=True)
class Lowered:
    node: Node
    layer: Call | ParameterInit | None  # how to construct the node's module or parameter (layer ops only)
    inplace: bool       # ReLU: inplace=True; Add: accumulate into the first input
    flatten: bool       # a Linear reading a feature map flattens it first (start_dim=1)


def lower(graph: Graph, table: Sequence[Unit] | None = None) -> tuple[Lowered, ...]:
    """One `Lowered` per node (the input included, with no layer)."""
    table = units(graph) if table is None else table
    home = home_units(graph, table)
    users = graph.users
    out = []
    for node in graph.nodes:
        op = node.op
        inputs = tuple(graph.nodes[i].type for i in node.inputs)
        inplace = _may_overwrite(graph, node, users, table, home)
        layer: Call | ParameterInit | None = None
        if op.is_parameter:
            entry = PARAMETERS.get(type(op))
            if entry is None:
                raise TypeError(f"the torch back ends have no parameter for {type(op).__name__}")
            layer = entry(op)
        elif op.is_layer:
            builder = LAYERS.get(type(op))
            if builder is None:
                raise TypeError(f"the torch back ends have no layer for {type(op).__name__}")
            layer = builder(op, Site(inputs, inplace, node.id in graph.indexed_pools))
        out.append(Lowered(node, layer, inplace, _flattens(graph, node) if node.inputs else False))
    return tuple(out)


def _may_overwrite(graph: Graph, node: Node, users: Sequence[Sequence[int]], table: Sequence[Unit],
                   home: Sequence[int]) -> bool:
    """True when this node may write its result into its first input's tensor: the op can (`Op.inplace`;
    an add of exactly two), the input is an overwritable intermediate (`Op.overwritable`: its backward
    does not read it; not the network input or output, never a view) made by the same module's forward
    (so calling a block or stage alone never changes the caller's tensor), and nobody else reads it."""
    op = node.op
    if not op.inplace or len(node.inputs) > 2:
        return False
    first = node.inputs[0]
    producer = graph.nodes[first]
    return (producer.op.overwritable and first != graph.output and len(users[first]) == 1
            and node.inputs.count(first) == 1 and _inside(table, home, first, node.id))


def _inside(table: Sequence[Unit], home: Sequence[int], producer: int, consumer: int) -> bool:
    """The producer is computed by the consumer's module's forward (or by a module it calls)."""
    unit = table[home[consumer]]
    return producer not in unit.inputs and unit.nodes[0] <= producer <= unit.nodes[-1]
