"""The PyTorch back end: lower a checked `Network` to a `torch.nn.Module` shaped like torchvision's.

Every layer node (`op.is_layer`) becomes a submodule registered at its module path, and every scope on
the way a real submodule (`layer3` -> `layer3.5` -> `layer3.5.conv2`), so `state_dict()` keys are the
spec's paths — torchvision's where the spec uses torchvision's names.  A scope that is a function of its
inputs (a block instance, a stage) is callable: a `Block` with a forward of its own, or a `Sequential`
(an `nn.Sequential`, indexable) where its items simply follow each other (see `lowering.units`).

A `Block`'s forward interprets steps computed once: one `(module path, function, flatten, input slots,
output slot, dead slots)` step per node or callable child, freeing every intermediate tensor after its
last reader, as a hand-written forward does by rebinding its variables.  Modules are looked up by name
when the step runs, so replacing a submodule (`model.fc = nn.Linear(2048, 10)`, `model.layer4[2] = ...`)
takes effect and hooks on any callable scope fire.

How each layer is constructed is described by a `Call` (`resdsl.backends.lowering`, which imports no
torch) rather than built directly, so the Python code generator (`resdsl.backends.pycode`) writes
exactly the same constructors, and the small runtime pieces (`resdsl.backends.runtime`: `DropPath`,
`zero_pad_shortcut`, ...) are copied verbatim into the generated file.  Both back ends share
`lowering.lower()`, which makes every per-node decision once; this module keeps only torch's spelling of
the functional ops (`FUNCTIONS`, `PARAMETER_FUNCTIONS`) and the module tree.
"""
from __future__ import annotations

import operator
from collections import namedtuple
from functools import lru_cache, partial, reduce
from typing import Any, Callable, Sequence

import torch
from torch import nn

from resdsl.backends.lowering import (ACTIVATIONS, CALLABLE, CONTAINER, LAYERS, PARAMETERS, SEQUENTIAL, Call,
                                      Lowered, ParameterInit, Unit, lower, short, units)
from resdsl.backends.runtime import (RUNTIME, ChannelLinear, DropPath, LayerNorm2d, MaxUnpool, MeanJoin, Scale,
                                     center_crop, channel_affine, channel_shuffle, channel_slice, gated_sum,
                                     global_drop_path, layer_scale, zero_pad_shortcut)
from resdsl.diagnostics import NameResolutionError
from resdsl.ir import ops
from resdsl.ir.graph import Graph, Node, Scope
from resdsl.ir.names import label_problem
from resdsl.network import Network

__all__ = ["build_module", "ResdslModule", "Block", "Sequential", "Group", "construct", "lower", "Lowered", "Call",
           "ParameterInit", "DropPath", "zero_pad_shortcut", "center_crop", "gated_sum", "LayerNorm2d",
           "ChannelLinear", "channel_shuffle", "channel_slice", "layer_scale", "Scale", "MeanJoin", "MaxUnpool",
           "count_flops", "example_input", "RUNTIME", "FUNCTIONS", "PARAMETER_FUNCTIONS", "LAYERS", "ACTIVATIONS", "PARAMETERS"]


# ---- constructors: the `Call`s and `ParameterInit`s of `resdsl.backends.lowering`, made real --------


def construct(layer: Call | ParameterInit) -> nn.Module | nn.Parameter:
    """The module a `Call` describes (`nn.<Class>(...)` or a runtime piece such as `DropPath`), or the
    parameter a `ParameterInit` describes."""
    if isinstance(layer, ParameterInit):
        return nn.Parameter(torch.full(layer.shape, layer.fill))
    cls = getattr(nn, layer.callee[3:]) if layer.callee.startswith("nn.") else RUNTIME[layer.callee]
    values = [v for _, v in layer.args]
    return cls(*values[:layer.positional], **dict(layer.args[layer.positional:]))


# Parameter ops: op class -> the function applying the parameter: fn(parameter, x).
PARAMETER_FUNCTIONS: dict[type, Callable] = {
    ops.LayerScale: layer_scale,
}


# ---- functional nodes: op class -> a callable taking the input tensors -------------------------------
# Plan entries are modules, module-level functions or partials of them, never closures: so a model
# pickles, and copy.deepcopy gives a plan that calls the copied layers.


def _add_all(*xs: torch.Tensor) -> torch.Tensor:
    return reduce(operator.add, xs)


def _mul_all(*xs: torch.Tensor) -> torch.Tensor:
    return reduce(operator.mul, xs)


def _concat(*xs: torch.Tensor) -> torch.Tensor:
    return torch.cat(xs, 1)


def _fn_add(item: Lowered) -> Callable:
    if item.inplace:
        return operator.iadd
    return operator.add if len(item.node.inputs) == 2 else _add_all


def _fn_mul(item: Lowered) -> Callable:
    return operator.mul if len(item.node.inputs) == 2 else _mul_all


def _fn_zero_pad(item: Lowered) -> Callable:
    op: ops.ZeroPadShortcut = item.node.op
    return partial(zero_pad_shortcut, out_channels=op.out_channels, stride=short(op.stride))


def _fn_crop(item: Lowered) -> Callable:
    return partial(center_crop, size=short(item.node.op.size))


def _fn_channel_shuffle(item: Lowered) -> Callable:
    return partial(channel_shuffle, groups=item.node.op.groups)


def _fn_channel_slice(item: Lowered) -> Callable:
    return partial(channel_slice, start=item.node.op.start, stop=item.node.op.stop)


def _fn_channel_affine(item: Lowered) -> Callable:
    return partial(channel_affine, scale=item.node.op.scale, shift=item.node.op.shift)


FUNCTIONS: dict[type, Callable[[Lowered], Callable]] = {
    ops.Add: _fn_add,
    ops.Mul: _fn_mul,
    ops.Concat: lambda item: _concat,
    ops.ZeroPadShortcut: _fn_zero_pad,
    ops.Crop: _fn_crop,
    ops.GatedSum: lambda item: gated_sum,
    ops.ChannelShuffle: _fn_channel_shuffle,
    ops.ChannelSlice: _fn_channel_slice,
    ops.ChannelAffine: _fn_channel_affine,
}


# ---- the module tree: every scope a real submodule ----------------------------------------------------
#
# A callable scope (a block instance, the network; see `lowering.units`) is a `Block` whose forward runs
# its steps; a scope whose items simply follow each other is a `Sequential` (an `nn.Sequential`:
# indexable, sliceable); any other scope is a `Group` of layers that the enclosing forward calls.  A
# step names its module by path relative to its `Block` and looks it up when it runs, so replacing a
# submodule (`model.fc = nn.Linear(2048, 10)`, `model.layer4[2] = ...`) takes effect and hooks on any
# callable scope fire.
#
# One step: (path or None, callable or None, flatten first, input slots, output slot, slots freed).  A path
# alone calls the module there; a path and a callable apply the callable to the parameter there (layer
# scale); a callable alone is a functional op.
Step = tuple[tuple[str, ...] | None, Callable | None, bool, tuple[int, ...], int, tuple[int, ...]]


class _Scoped:
    """What every container knows about the scope it stands for."""

    resdsl_block: str | None

    def _scope_repr(self) -> str:
        return f"block={self.resdsl_block}" if self.resdsl_block else ""


class Block(_Scoped, nn.Module):
    """A callable scope: a block instance (`layer1.0`) or any scope that is a function of its inputs."""

    def __init__(self):
        super().__init__()
        self.resdsl_block = None
        self._steps: tuple[Step, ...] = ()
        self._slots = 1
        self._inputs = 1
        self._output = 0

    def forward(self, x: torch.Tensor, *more: torch.Tensor) -> torch.Tensor:
        if len(more) != self._inputs - 1:
            raise TypeError(f"{type(self).__name__}.forward takes {self._inputs} tensors, got {1 + len(more)}")
        return self._run(self._steps, self._slots, (x, *more))[self._output]

    def _run(self, steps: Sequence[Step], slots: int, inputs: Sequence[torch.Tensor]) -> list[Any]:
        """Run `steps` on `inputs`; the value slots afterwards (those still alive)."""
        values: list[Any] = [None] * slots
        values[:len(inputs)] = inputs
        for path, fn, flatten, args, out, dead in steps:
            if path is None:
                values[out] = fn(*[values[i] for i in args])
            else:
                owner: nn.Module = self
                for part in path[:-1]:
                    owner = owner._modules[part]
                if fn is not None:  # a parameter op: fn(parameter, x), the parameter looked up now
                    values[out] = fn(owner._parameters[path[-1]], *[values[i] for i in args])
                elif flatten:
                    values[out] = owner._modules[path[-1]](torch.flatten(values[args[0]], 1))
                else:
                    values[out] = owner._modules[path[-1]](*[values[i] for i in args])
            for i in dead:
                values[i] = None
        return values

    def extra_repr(self) -> str:
        return self._scope_repr()


class Sequential(_Scoped, nn.Sequential):
    """A scope whose items each read the previous one's output (a stage of blocks, `downsample`).
    Constructed like `nn.Sequential` (so slicing works); `_place` fills it."""

    resdsl_block = None

    def extra_repr(self) -> str:
        return self._scope_repr()


class Group(_Scoped, nn.Module):
    """Named layers that the enclosing module's forward calls one by one (no forward of its own)."""

    def __init__(self):
        super().__init__()
        self.resdsl_block = None

    def extra_repr(self) -> str:
        return self._scope_repr()


# Back-compatible name: a stage is a `Sequential` where its blocks follow each other.
Stage = Sequential

CONTAINERS: dict[str, type[nn.Module]] = {CALLABLE: Block, SEQUENTIAL: Sequential, CONTAINER: Group}


class ResdslModule(Block):
    """A network built from a resdsl spec.  `resdsl_network` is the checked network it was built from;
    `input_shape` / `output_shape` are the shapes of one sample (no batch dimension)."""

    def __init__(self, net: Network):
        super().__init__()
        # Set before any submodule, so a layer label that shadows them is refused by add_module.
        self.resdsl_network = net
        self.input_shape: tuple[int, ...] = net.input_type.shape
        self.output_shape: tuple[int, ...] = net.output_type.shape
        graph = net.graph
        table = units(graph)
        lowered = lower(graph, table)
        owners: dict[int, nn.Module] = {0: self}
        for item in lowered[1:]:
            if item.layer is not None:
                _place(self, item.node, construct(item.layer), table, owners)
        callees = _callees(graph, table)
        for unit in table:
            if unit.kind == CALLABLE:
                _program(owners[unit.scope.id], unit, graph, table, lowered, callees[unit.scope.id])
        # Aux heads run in training only: evaluation runs the main path's steps, training every step and
        # returns the named tuple of `graph.training_outputs` (torchvision's GoogLeNetOutputs, ...).
        self._training_plan: tuple[tuple[Step, ...], int, tuple[int, ...]] | None = None
        self._outputs_type: tuple[str, tuple[str, ...]] | None = None
        order = graph.training_outputs
        if order is not None:
            ends = tuple(graph.output if f.head is None else graph.head_named(f.head).output for f in order.fields)
            self._training_plan = _plan(table[0], graph, table, lowered, callees[0], ends)
            heads = frozenset(n for h in graph.heads for n in range(h.first, h.last + 1))
            self._steps, self._slots, (self._output,) = _plan(table[0], graph, table, lowered, callees[0],
                                                              (graph.output,), heads)
            self._outputs_type = (order.type_name, order.names)
        global_drop_path(self)  # FractalNet's joins share one column draw per forward, if they use it

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # one input: what torch.export and ONNX expect
        if self.training and self._training_plan is not None:
            steps, slots, ends = self._training_plan
            values = self._run(steps, slots, (x,))
            return outputs_type(*self._outputs_type)(*(values[i] for i in ends))
        return super().forward(x)

    def extra_repr(self) -> str:
        net = self.resdsl_network
        return f"{net.name}: input {net.input_type} -> output {net.output_type}"


def build_module(net: Network) -> ResdslModule:
    """The network as a `torch.nn.Module` (in training mode, freshly initialised by torch's defaults).
    Build under `with torch.device("meta"):` to inspect a large network without allocating it."""
    return ResdslModule(net)


@lru_cache(maxsize=None)
def outputs_type(name: str, fields: tuple[str, ...]) -> type:
    """The named tuple a network with aux heads returns in training (made once per name and fields; a
    module keeps only the strings, so it pickles)."""
    return namedtuple(name, fields)


def _program(block: Block, unit: Unit, graph: Graph, table: Sequence[Unit], lowered: Sequence[Lowered],
             callees: Sequence[int]) -> None:
    """The steps of one callable scope: its own nodes, and one step per callable scope `callees` directly
    inside it (each computes its nodes in one call)."""
    output = graph.output if unit.scope.id == 0 else unit.outputs[0]
    block._steps, block._slots, (block._output,) = _plan(unit, graph, table, lowered, callees, (output,))
    block._inputs = 1 if unit.scope.id == 0 else len(unit.inputs)


def _plan(unit: Unit, graph: Graph, table: Sequence[Unit], lowered: Sequence[Lowered], callees: Sequence[int],
          ends: tuple[int, ...], skip: frozenset[int] = frozenset()) -> tuple[tuple[Step, ...], int, tuple[int, ...]]:
    """(steps, number of value slots, the slots of `ends`) computing `ends` from the unit's inputs,
    leaving out the nodes in `skip` (the aux heads, in evaluation)."""
    base = unit.scope.path
    inner = {n: c for c in callees for n in table[c].nodes}
    inputs = (0,) if unit.scope.id == 0 else unit.inputs
    slot: dict[Any, int] = {n: k for k, n in enumerate(inputs)}
    raw: list[tuple[tuple[str, ...] | None, Callable | None, bool, tuple[int, ...], int]] = []
    done: set[int] = set()
    for nid in unit.nodes:
        if nid == 0 or nid in skip:
            continue
        child = inner.get(nid)
        if child is not None:
            if child not in done:
                done.add(child)
                callee = table[child]
                args = tuple(slot[i] for i in callee.inputs)
                slot[callee.outputs[0]] = len(slot)
                raw.append((_relative(base, callee.scope.path), None, False, args, len(slot) - 1))
            continue
        item = lowered[nid]
        reads = item.node.op.indices_input  # max-unpooling reads its pool's second output, the indices
        args = tuple(slot[(INDICES, i)] if k == reads else slot[i] for k, i in enumerate(item.node.inputs))
        if nid in graph.indexed_pools:  # the pool returns (values, indices): one slot each
            slot[(PAIR, nid)] = len(slot)
            raw.append((_relative(base, item.node.path), None, False, args, len(slot) - 1))
            for key, part in ((nid, 0), ((INDICES, nid), 1)):
                slot[key] = len(slot)
                raw.append((None, operator.itemgetter(part), False, (slot[(PAIR, nid)],), slot[key]))
            continue
        slot[nid] = len(slot)
        if isinstance(item.layer, ParameterInit):
            raw.append((_relative(base, item.node.path), PARAMETER_FUNCTIONS[type(item.node.op)], False, args,
                        slot[nid]))
        elif item.layer is not None:
            raw.append((_relative(base, item.node.path), None, item.flatten, args, slot[nid]))
        else:
            raw.append((None, FUNCTIONS[type(item.node.op)](item), False, args, slot[nid]))
    kept = tuple(slot[n] for n in ends)
    last_use: dict[int, int] = {}
    for k, (_, _, _, args, out) in enumerate(raw):
        last_use.setdefault(out, k)  # a value nobody reads is dropped right after it is made
        for i in args:
            last_use[i] = k          # steps run in order: the last reader wins
    dead: list[list[int]] = [[] for _ in raw]
    for value, step in last_use.items():
        if value not in kept:
            dead[step].append(value)
    steps = tuple((p, f, fl, a, o, tuple(sorted(dead[k]))) for k, (p, f, fl, a, o) in enumerate(raw))
    return steps, len(slot), kept


# Slot keys beside node ids: an indexed max pool's (values, indices) pair, and its indices.
PAIR, INDICES = "pair", "indices"


def _callees(graph: Graph, table: Sequence[Unit]) -> dict[int, list[int]]:
    """For each callable scope, the callable scopes directly inside it (no callable scope between)."""
    nearest: list[int] = [0] * len(table)
    out: dict[int, list[int]] = {u.scope.id: [] for u in table if u.kind in (CALLABLE, SEQUENTIAL)}
    for unit in table[1:]:  # parents before children
        parent = nearest[unit.scope.parent]
        if unit.kind in (CALLABLE, SEQUENTIAL):
            out[parent].append(unit.scope.id)
            nearest[unit.scope.id] = unit.scope.id
        else:
            nearest[unit.scope.id] = parent
    return out


def _relative(base: str, path: str) -> tuple[str, ...]:
    return tuple((path[len(base) + 1:] if base else path).split("."))


def _place(root: nn.Module, node: Node, module: nn.Module | nn.Parameter, table: Sequence[Unit],
           owners: dict[int, nn.Module]) -> None:
    """Register `module` at `node.path`, creating the containers on the way in first-use order."""
    *parents, leaf = node.path.split(".")
    chain = {s.path: s for s in _scope_chain(table, node.scope)}
    owner = root
    for depth, part in enumerate(parents):
        child = owner._modules.get(part)
        path = ".".join(parents[:depth + 1])
        scope = chain.get(path)
        if child is None:
            kind = table[scope.id].kind if scope is not None else CONTAINER
            child = CONTAINERS[kind]()
            child.resdsl_block = scope.block if scope is not None else None
            _register(owner, part, child, node)
            if scope is not None:
                owners[scope.id] = child
        elif not isinstance(child, _Scoped):
            raise NameResolutionError(f"'{path}' is both a layer and a group of layers", node.span,
                                      "give the group or the layer another label")
        owner = child
    _register(owner, leaf, module, node)


def _scope_chain(table: Sequence[Unit], scope_id: int) -> list[Scope]:
    chain = []
    current: int | None = scope_id
    while current is not None:
        chain.append(table[current].scope)
        current = table[current].scope.parent
    return chain


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
