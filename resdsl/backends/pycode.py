"""The Python back end: one standalone, readable .py file (importing only torch) defining the network.

The file reads like torchvision's resnet.py: one `nn.Module` class per block definition (`Bottleneck`,
`DenseLayer`, ...), stages as `nn.Sequential`, repeats as loops, and a network class taking `num_classes`
whose forward is written out op by op.  Its `state_dict()` equals `resdsl.build`'s key for key, and its
outputs are the same bit for bit: the constructors come from the same `Call` table and every per-node
decision (in-place ReLU, `+=`, flatten before fc) from the same `lower()` as the torch back end.

How scopes become code (decided bottom-up, children first):
  * a scope that is a function of its inputs (its nodes are consecutive in the graph and only one of
    them is read outside) becomes a class if it is a block instance, an `nn.Sequential` if its items
    simply follow each other, else a plain `Group` whose layers the parent's forward calls;
  * the instances of one block definition share one class (`write_family`): its constructor takes
    `in_channels` and the block's parameters as the spec names them (each instance's call is in the IR),
    every literal is written as an expression of those that holds in every instance
    (`pycode_family.fit`), and a member only some instances have is an optional argument
    (`downsample=None`).  Instances that do not unify keep one class per shape of code, with the
    numbers that differ as parameters named after their layer (`conv1_out_channels`);
  * consecutive equal instances in a stage are a repeat (`*[Block(...) for _ in range(n)]`), numbered
    instances whose arguments grow by a constant step a loop (`DenseLayer(in_channels + i * growth, ...)`).

Only identifiers that pass `_attr_name` and literals (ints, floats, bools, tuples) rendered by `repr`
reach the generated text; nothing is copied from the spec's source.
"""
from __future__ import annotations

import ast
import json
import keyword
import math
import re
import textwrap
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence, Union

from resdsl.backends.lowering import Lowered, ParameterInit, lower, passes_indices
from resdsl.backends import pycode_guards as guards
from resdsl.backends.pycode_family import CHANNEL_FIELDS, Step, align, condition, fit, group_lines, target_and_source
from resdsl.diagnostics import NameResolutionError
from resdsl.ir.names import class_name, is_attribute, label_problem
from resdsl.ir import ops
from resdsl.ir.graph import Graph, Scope
from resdsl.network import Network

__all__ = ["generate", "load_source", "class_name"]

LINE_WIDTH = 120  # torchvision's black setting

# ---- the small expression trees the constructors are written as ------------------------------------


@dataclass
class Expr:
    """`callee(arg, name=arg, ...)`, or other brackets than parentheses."""

    callee: str
    args: list[tuple[str | None, "Arg"]]
    brackets: tuple[str, str] = ("(", ")")
    # keyword -> the text of its default: the argument is left out where it renders as that text
    defaults: dict[str, str] = field(default_factory=dict)
    keys: tuple[Any, ...] | None = None  # an unnamed nn.Sequential's entries: where each comes from (its span)


@dataclass
class Pair:
    """`("name", expr)`: one entry of `OrderedDict([...])` or `Group(...)`."""

    name: str
    value: "Arg"


Arg = Union[Expr, Pair, str]


def fmt(arg: Arg, indent: int, width: float = LINE_WIDTH, lead: int = 0) -> str:
    """One line if it fits (after `lead` characters already on the line) and is not a container, else
    one argument per line (black's style)."""
    if isinstance(arg, str):
        return arg
    if isinstance(arg, Pair):
        return f"({json.dumps(arg.name)}, {fmt(arg.value, indent, width)})"
    if arg.callee == _REPEAT:  # `*[Block(...) for _ in range(n)]`
        ctor, count = (v for _, v in arg.args)
        return f"*[{fmt(ctor, indent, width, lead + 2)} for _ in range({fmt(count, indent, width)})]"
    opening, closing = arg.brackets
    parts = [(f"{k}=" if k else "") + fmt(v, indent + 4, width) for k, v in arg.args]
    one = f"{arg.callee}{opening}{', '.join(parts)}{closing}"
    container = arg.callee in _CONTAINERS
    if not (container and arg.args) and "\n" not in one and indent + lead + len(one) <= width:
        return one
    pad = " " * (indent + 4)
    return f"{arg.callee}{opening}\n" + "".join(f"{pad}{p},\n" for p in parts) + f"{' ' * indent}{closing}"


def _map_leaves(arg: Arg, fn: Callable[[str], str]) -> Arg:
    if isinstance(arg, str):
        return fn(arg)
    if isinstance(arg, Pair):
        return Pair(arg.name, _map_leaves(arg.value, fn))
    args = [(k, _map_leaves(v, fn)) for k, v in arg.args]
    args = [(k, v) for k, v in args if not (k in arg.defaults and v == arg.defaults[k])]  # torch's default
    return Expr(arg.callee, args, arg.brackets)


_REPEAT = "\x02repeat"  # the callee of `*[ctor for _ in range(count)]`


# Keywords `lowering` leaves out at torch's default; the code generator writes them into every instance (so
# the instances of a family compare equal) and leaves them out again where they render as the default.
LAYER_DEFAULTS: dict[str, dict[str, Any]] = {
    "nn.Conv2d": {"dilation": 1, "groups": 1},
    "nn.ConvTranspose2d": {"output_padding": 0},
    "nn.BatchNorm2d": {"eps": 1e-05, "momentum": 0.1},
    "nn.BatchNorm1d": {"eps": 1e-05, "momentum": 0.1},
}
_ARGUMENT_ORDER: dict[str, tuple[str, ...]] = {
    "nn.Conv2d": ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias"),
    "nn.ConvTranspose2d": ("in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding",
                           "bias"),
    "nn.BatchNorm2d": ("num_features", "eps", "momentum"),
    "nn.BatchNorm1d": ("num_features", "eps", "momentum"),
}

# Containers are written one entry per line, like torchvision's code.
_NAMED_SEQUENTIAL = "nn.Sequential(OrderedDict"
_CONTAINERS = {"nn.Sequential", "Group", _NAMED_SEQUENTIAL}


# ---- slots: literals that may become constructor parameters --------------------------------------


@dataclass
class Slot:
    value: Any
    hint: str      # a readable parameter name if this literal becomes one
    forward: bool  # used in forward (stored on self) rather than in __init__
    field: str = ""  # the constructor argument it is (`out_channels`), for naming it after the spec
    default: Any = None  # the keyword's default (`groups=1`), when it is left out at that value
    has_default: bool = False
    width: bool = False  # a child block's parameter that is a width there (as `out_channels` is)
    origin: tuple[Any, str, Any] | None = None  # a child block's argument: (its call's span, parameter, definition)


_NO_DEFAULT = object()


@dataclass
class Recorder:
    """Collects the literals of one class body.  The text holds the marker `\x00k\x00` for literal k until
    all instances of the class are known: then each marker becomes the literal, a parameter or an
    expression of a parameter."""

    slots: list[Slot] = field(default_factory=list)

    def lit(self, value: Any, hint: str, forward: bool = False, field: str = "", default: Any = _NO_DEFAULT,
            width: bool = False, origin: tuple[Any, str, Any] | None = None) -> str:
        _check_literal(value)
        self.slots.append(Slot(value, hint, forward, field, None if default is _NO_DEFAULT else default,
                               default is not _NO_DEFAULT, width, origin))
        return f"\x00{len(self.slots) - 1}\x00"


def _check_literal(value: Any) -> None:
    if isinstance(value, tuple):
        for v in value:
            _check_literal(v)
    elif isinstance(value, str):
        if not _WORD.fullmatch(value):  # only fixed option words (gelu's "tanh"), never spec text
            raise TypeError(f"cannot write {value!r} into generated code")
    elif not isinstance(value, (bool, int, float)) or not math.isfinite(value):
        raise TypeError(f"cannot write {value!r} into generated code")


_WORD = re.compile(r"[a-z][a-z_]{0,23}")  # option words: DropPath's mode="row", gelu's "tanh", "slim_truncated_normal"


_MARKER = re.compile("\x00(\\d+)\x00")


# ---- scope analysis -----------------------------------------------------------------------------

CLASS, SEQUENTIAL, GROUP, INLINE, ROOT = "class", "sequential", "group", "inline", "root"

# Stateless layers with only a position for a name (`layer1.0.2`, a ReLU) are written as function calls
# in a forward (`F.relu(out, inplace=True)`) rather than as modules called `getattr(self, "2")`.
# (The op classes of FUNCTION_LAYER_CODE, below.)


@dataclass
class Unit:
    scope: Scope
    nodes: list[int]            # every node in the scope and its sub-scopes, in order
    inputs: tuple[int, ...]     # nodes outside read inside, in order
    outputs: tuple[int, ...]    # nodes inside read outside (or the network's output)
    first_layer: int | None     # the first layer node inside: the registration order of modules
    kind: str = INLINE
    # a block class passing max-pool indices (ENet): pools outside whose indices it reads (`forward(x, indices)`),
    # pools inside whose indices are read outside (`return x, indices`); not among `inputs` / `outputs`
    index_in: tuple[int, ...] = ()
    index_out: tuple[int, ...] = ()


@dataclass
class Instance:
    """A class instance: the finished class's name, its arguments (name, value, written as a keyword) and
    the optional members it has (`downsample`: attribute, member), constructed by the caller."""

    cls: str
    args: list[tuple[str, Any, bool]]
    optional: list[tuple[str, tuple[str, int]]] = field(default_factory=list)
    defaults: dict[str, Any] = field(default_factory=dict)  # keyword arguments left out at these values
    widths: frozenset[str] = frozenset()  # the arguments that are widths inside the class


@dataclass
class Run:
    """Block instances a loop makes: their scope ids, the common name prefix, the first number."""

    units: list[int]
    prefix: str
    first: int
    whole: bool  # they are everything the class holds and calls: `for layer in self.children()`


@dataclass
class Draft:
    unit: Unit
    init: list[tuple[str, Expr]]  # (attribute, or a quoted name for add_module; constructor)
    forward: list[str]
    params: list[str]   # forward arguments
    slots: list[Slot]
    members: list[tuple[str, int]] = field(default_factory=list)  # aligned with init


class Generator:
    def __init__(self, net: Network, family: str | None = None, members: Sequence[Network] = ()):
        """`family`, `members`: a parameter of the network and other members of it (the network built for other
        values of that parameter): the network class takes the parameter, its numbers written as expressions
        of it (`range((depth - 2) // 6)`), where the members' code differs in nothing else (`family_refused`
        says why not, otherwise)."""
        self.net = net
        self.family = family
        self.family_members = tuple(members)
        self.family_refused: str | None = None
        self.repeat_singles = family is not None  # (a member with one block more has a repeat there)
        self.graph: Graph = net.graph
        self.lowered: tuple[Lowered, ...] = lower(self.graph)
        self.units = _analyse(self.graph)
        self.children: dict[int, list[int]] = {u.scope.id: [] for u in self.units}
        for unit in self.units[1:]:
            self.children[unit.scope.parent].append(unit.scope.id)
        self.instances: dict[int, Instance] = {}
        self.classes: list[str] = []  # class sources, leaves first
        self.reserved = {"self", "torch", "nn", "F", "OrderedDict", "Group", "DropPath", "zero_pad_shortcut",
                         "center_crop", "gated_sum", "INPUT_SHAPE", "annotations", "getattr",
                         "LayerNorm2d", "ChannelLinear", "channel_shuffle", "Scale", "MeanJoin", "MaxUnpool",
                         "ColumnDropPath", "global_drop_path",
                         "channel_affine", "namedtuple"}
        if self.graph.training_outputs is not None:  # the named tuple training returns
            self.reserved.add(self.graph.training_outputs.type_name)
        self.used: dict[str, bool] = {}  # runtime helpers the code calls
        self.class_names: set[str] = set()
        self.fallback: list[str] = []  # blocks written as one class per shape (their instances did not unify)
        self.refused: dict[str, str] = {}  # block -> why its instances did not unify (the first reason)
        self.current_runs: dict[int, Run] = {}  # the runs of the draft being written
        self.unrolled = False  # drafting with equal consecutive blocks written out (no `*[... for _ in range(n)]`)
        self.origins: dict[int, list[tuple[Any, str] | None]] = {}  # scope -> what made each forward line
        # block -> why a condition of its class is fitted to the instances rather than read from the spec
        self.fitted: dict[str, list[str]] = {}
        self.spec_functions: dict[str, str] = {}  # the spec's `def`s the classes call, as Python source

    # -- structure decisions --

    def function_rendered(self, nid: int) -> bool:
        node = self.graph.nodes[nid]
        return node.op.is_layer and node.name.isdigit() and type(node.op) in FUNCTION_LAYER_CODE

    def classify(self) -> None:
        for sid in reversed(range(len(self.graph.scopes))):  # children have larger ids than parents
            unit = self.units[sid]
            if sid == 0:
                unit.kind = ROOT
            elif not any(self.graph.nodes[n].op.is_layer and not self.function_rendered(n) for n in unit.nodes):
                unit.kind = INLINE
            elif unit.scope.kind == "block" and self._index_class(unit):
                unit.kind = CLASS
            elif not _is_function(unit) or passes_indices(self.graph, unit.nodes, unit.inputs, unit.outputs):
                unit.kind = GROUP
            elif unit.scope.kind == "block":
                unit.kind = CLASS
            else:
                unit.kind = SEQUENTIAL if self.is_chain(sid) else GROUP

    def _index_class(self, unit: Unit) -> bool:
        """A block that passes max-pool indices across its edge, and only those besides one value in and one out
        (ENet's down-sampling bottleneck returns its pool's indices, the up-sampling one takes them), is a class
        whose forward takes and returns them beside the value: its unit's edge is set so (`index_in`, `index_out`)."""
        graph = self.graph
        if not passes_indices(graph, unit.nodes, unit.inputs, unit.outputs):
            return False
        inside = set(unit.nodes)

        def as_indices(reader: int, pool: int) -> bool:
            op = graph.nodes[reader].op
            return op.indices_input is not None and graph.nodes[reader].inputs[op.indices_input] == pool and \
                graph.nodes[reader].inputs.count(pool) == 1

        index_in = tuple(i for i in unit.inputs if i in graph.indexed_pools and
                         all(as_indices(n, i) for n in unit.nodes if i in graph.nodes[n].inputs))
        index_out = tuple(o for o in unit.outputs if o in graph.indexed_pools and o != graph.output and
                          all(as_indices(u, o) for u in graph.users[o] if u not in inside))
        inputs = tuple(i for i in unit.inputs if i not in index_in)
        outputs = tuple(o for o in unit.outputs if o not in index_out or
                        any(u not in inside and not as_indices(u, o) for u in graph.users[o]))
        stripped = Unit(unit.scope, unit.nodes, inputs, outputs, unit.first_layer)
        if not (index_in or index_out) or not _is_function(stripped) or outputs[0] in graph.indexed_pools:
            return False
        unit.inputs, unit.outputs, unit.index_in, unit.index_out = inputs, outputs, index_in, index_out
        return True

    def items(self, sid: int) -> list[tuple[str, int]]:
        """What the forward of scope `sid` calls, in order: ("node", id) or ("unit", scope id)."""
        out: list[tuple[str, int]] = []
        for nid in self.units[sid].nodes:
            if nid == 0:
                continue
            chain = [s.id for s in self.graph.scope_chain(self.graph.nodes[nid].scope)]
            inner = next((s for s in chain[chain.index(sid) + 1:] if self.units[s].kind in (CLASS, SEQUENTIAL)),
                         None)
            if inner is None:
                out.append(("node", nid))
            elif ("unit", inner) not in out:
                out.append(("unit", inner))
        return out

    def item_io(self, item: tuple[str, int]) -> tuple[tuple[int, ...], int]:
        kind, i = item
        if kind == "node":
            return self.graph.nodes[i].inputs, i
        unit = self.units[i]
        return unit.inputs, unit.outputs[0]

    def is_chain(self, sid: int) -> bool:
        unit = self.units[sid]
        if len(unit.inputs) != 1:
            return False
        previous = unit.inputs[0]
        for item in self.items(sid):
            kind, i = item
            if kind == "node":
                node = self.graph.nodes[i]
                if node.scope != sid or not node.op.is_layer or node.op.is_parameter or self.lowered[i].flatten:
                    return False
            inputs, output = self.item_io(item)
            if inputs != (previous,):
                return False
            previous = output
        return previous == unit.outputs[0]

    def members(self, sid: int) -> list[tuple[str, int]]:
        """The modules scope `sid` owns, in registration order: ("node", id) or ("unit", scope id)."""
        found: list[tuple[int, tuple[str, int]]] = []
        for nid in self.units[sid].nodes:
            node = self.graph.nodes[nid]
            if node.scope == sid and node.op.is_layer and not self.function_rendered(nid):
                found.append((nid, ("node", nid)))
        for child in self.children[sid]:
            if self.units[child].kind != INLINE:
                found.append((self.units[child].first_layer, ("unit", child)))
        return [m for _, m in sorted(found)]

    # -- constructors --

    def ctor(self, member: tuple[str, int], rec: Recorder, prefix: str) -> Expr:
        kind, i = member
        if kind == "node":
            return self.layer_ctor(i, rec, prefix)
        unit = self.units[i]
        if unit.kind == CLASS:
            inst = self.instances[i]
            call = unit.scope.call
            spec_params = ({guards.python_name(p.name) for p in call.definition.params}
                           if call is not None and call.definition else set())
            args: list[tuple[str | None, Arg]] = [
                (p if keyword else None, rec.lit(v, f"{prefix}{p}", field=p, default=inst.defaults.get(p, _NO_DEFAULT),
                                                 width=p in inst.widths,
                                                 origin=(unit.scope.span, p, call.definition) if p in spec_params
                                                 else None))
                for p, v, keyword in inst.args]
            args += [(attr, self.ctor(member, rec, f"{prefix}{attr}_")) for attr, member in inst.optional]
            return Expr(inst.cls, args, defaults={p: _literal(v) for p, v in inst.defaults.items()})
        if unit.kind == SEQUENTIAL:
            items = self.items(i)
            if [self.local_name(m) for m in items] == [str(k) for k in range(len(items))]:
                entries = self.repeated(items, rec, prefix)
                return Expr("nn.Sequential", entries, keys=tuple(self._entry_keys(items)))
            entries = [(self.local_name(m), self.ctor(m, rec, f"{prefix}{self.local_name(m)}_")) for m in items]
            self.used["OrderedDict"] = True
            return Expr(_NAMED_SEQUENTIAL, [(None, Pair(n, e)) for n, e in entries], brackets=("([", "]))"))
        self.used["Group"] = True
        return Expr("Group", [(None, Pair(self.local_name(m), self.ctor(m, rec, f"{prefix}{self.local_name(m)}_")))
                              for m in self.members(i)])

    def classifier_hints(self) -> set[str]:
        """The slot names of the classifier's width: the out features (or channels) of the last fc or
        conv, when they are the network's output width."""
        out = self.graph.nodes[self.graph.output].type
        if len(out.shape) != 1:
            return set()
        last = next((n for n in reversed(self.graph.nodes) if isinstance(n.op, (ops.Linear, ops.Conv))), None)
        if last is None or last.type.channels != out.channels:
            return set()
        first, *rest = last.path.split(".")  # as `draft` and `ctor` name the slots
        stem = "_".join([_identifier(first), *rest])
        return {f"{stem}_out_features", f"{stem}_out_channels"}

    def aux_classifier_slots(self, draft: Draft) -> set[int]:
        """The slots of an aux head's constructor that give its classifier's width where the head is as
        wide as the main output (Inception-v3's `InceptionAux(768, num_classes)`), so that `num_classes`
        changes the heads with the main classifier, as torchvision's constructors do."""
        width = self.graph.nodes[self.graph.output].type
        if len(width.shape) != 1:
            return set()
        prefixes = tuple(f"{_identifier(h.name)}_" for h in self.graph.heads
                         if self.graph.nodes[h.output].type == width)
        if not prefixes:
            return set()
        return {k for k, slot in enumerate(draft.slots)
                if not slot.forward and slot.hint.startswith(prefixes) and type(slot.value) is int
                and slot.value == width.channels}

    def repeated(self, items: list[tuple[str, int]], rec: Recorder, prefix: str) -> list[tuple[None, Arg]]:
        """The entries of an unnamed `nn.Sequential`, equal consecutive block instances as one repeat:
        `Bottleneck(256, 64, ...), *[Bottleneck(1024, 256) for _ in range(5)]`."""
        out: list[tuple[None, Arg]] = []
        k = 0
        while k < len(items):
            j = k
            while not self.unrolled and j + 1 < len(items) and self._same_instance(items[k], items[j + 1]):
                j += 1
            ctor = self.ctor(items[k], rec, f"{prefix}{k}_")
            if self._repeat(items, k, j):
                count = rec.lit(j - k + 1, f"{prefix}blocks", field="count")
                ctor = Expr(_REPEAT, [(None, ctor), (None, count)])
            out.append((None, ctor))
            k = j + 1
        return out

    def _entry_keys(self, items: list[tuple[str, int]]) -> list[Any]:
        """Where each entry `repeated` writes comes from in the spec (its call's span), so that the entries of
        two instances of a block can be matched when some are left out (an `if` in the block's body)."""
        keys: list[Any] = []
        k = 0
        while k < len(items):
            j = k
            while not self.unrolled and j + 1 < len(items) and self._same_instance(items[k], items[j + 1]):
                j += 1
            kind, i = items[k]
            span = self.units[i].scope.span if kind == "unit" else self.graph.nodes[i].span
            keys.append((kind, span, j - k + 1 if self._repeat(items, k, j) else 0))
            k = j + 1
        return keys

    def _repeat(self, items: list[tuple[str, int]], k: int, j: int) -> bool:
        """Items k..j are written as one repeat: more than one, or (writing a family of networks, where another
        member has more) one block after another instance of its class (a stage's rest, however short)."""
        if j > k:
            return True
        if not self.repeat_singles or k == 0 or items[k][0] != "unit" or items[k - 1][0] != "unit":
            return False
        a, b = self.instances.get(items[k - 1][1]), self.instances.get(items[k][1])
        return a is not None and b is not None and a.cls == b.cls and not b.optional

    def _same_instance(self, a: tuple[str, int], b: tuple[str, int]) -> bool:
        if a[0] != "unit" or b[0] != "unit" or a[1] not in self.instances or b[1] not in self.instances:
            return False
        x, y = self.instances[a[1]], self.instances[b[1]]
        typed = lambda inst: [(n, type(v), v, kw) for n, v, kw in inst.args]  # noqa: E731
        return x.cls == y.cls and not x.optional and not y.optional and typed(x) == typed(y)

    def layer_ctor(self, nid: int, rec: Recorder, prefix: str) -> Expr:
        call = self.lowered[nid].layer
        if isinstance(call, ParameterInit):  # `nn.Parameter(torch.full((C, 1, 1), 1e-06))`
            shape = Expr("", [(None, rec.lit(d, f"{prefix}channels" if k == 0 else f"{prefix}dim{k}",
                                             field="channels" if k == 0 else ""))
                              for k, d in enumerate(call.shape)])
            return Expr("nn.Parameter", [(None, Expr("torch.full", [(None, shape),
                                                                     (None, rec.lit(call.fill, f"{prefix}init"))]))])
        if not call.callee.startswith("nn."):
            self.used[call.callee] = True  # a runtime piece (DropPath) the file must define
        args: list[tuple[str | None, Arg]] = []
        given = dict(call.args)
        omitted = LAYER_DEFAULTS.get(call.callee, {})
        order = [n for n, _ in call.args]
        for name in omitted:  # every instance writes the same arguments; the defaults are left out when rendered
            if name not in given:
                after = _ARGUMENT_ORDER[call.callee]
                position = next((k for k, n in enumerate(order) if after.index(n) > after.index(name)), len(order))
                order.insert(position, name)
        for k, name in enumerate(order):
            value = given.get(name, omitted.get(name))
            default = omitted[name] if name in omitted else _NO_DEFAULT
            args.append((None if k < call.positional else name,
                         rec.lit(value, f"{prefix}{name}", field=name, default=default)))
        return Expr(call.callee, args, defaults={n: _literal(v) for n, v in omitted.items()})

    def local_name(self, member: tuple[str, int]) -> str:
        kind, i = member
        return self.graph.nodes[i].name if kind == "node" else self.units[i].scope.name

    # -- one class body (a block instance or the network) --

    def draft(self, sid: int, tail: bool = False) -> Draft:
        rec = Recorder()
        init = []
        members = self.members(sid)
        runs = {run.units[0]: run for run in self.runs(sid, members, tail)}
        in_run = {c for run in runs.values() for c in run.units}
        kept: list[tuple[str, int]] = []
        for member in members:
            if member[0] == "unit" and member[1] in runs:
                run = runs[member[1]]
                kept.append(member)
                init.append((f"\x01{run.prefix}{{i + {run.first}}}", self.run_ctor(run, rec)))
                continue
            if member[0] == "unit" and member[1] in in_run:
                continue
            local = self.local_name(member)
            attr = _attr_name(local, self._path_of(member))
            init.append((attr, self.ctor(member, rec, _identifier(local) + "_")))
            kept.append(member)
        members = kept
        self.current_runs = runs
        forward, params = self.forward_body(sid, rec)
        return Draft(self.units[sid], init, forward, params, rec.slots, members)

    def _path_of(self, member: tuple[str, int]) -> str:
        kind, i = member
        return self.graph.nodes[i].path if kind == "node" else self.units[i].scope.path

    def ref(self, sid: int, path: str) -> str:
        """`self.layer1` / `getattr(self.group, "0")` for a module path below scope `sid`."""
        base = self.units[sid].scope.path
        rel = path[len(base) + 1:] if base else path
        expr = "self"
        for part in rel.split("."):
            name = _attr_name(part, path)
            expr = f"{expr}.{name}" if name[0] != '"' else f"getattr({expr}, {name})"
        return expr

    def forward_body(self, sid: int, rec: Recorder) -> tuple[list[str], list[str]]:
        """The forward's lines, torchvision style: the main flow rebinds `x` / `out`, values kept for
        later (branches, skips) are named after their layer, names are reused once their value died."""
        unit = self.units[sid]
        items = self.items(sid)
        ios = [self._with_indices(self.item_io(item), item) for item in items]
        output = self.graph.output if sid == 0 else unit.outputs[0]
        order = self.graph.training_outputs if sid == 0 else None
        ends = [output] if order is None else [output, *(self.graph.head_named(f.head).output
                                                         for f in order.fields if f.head is not None)]
        owner = self.graph.head_of
        uses: dict[int, list[int]] = {}
        for k, (inputs, _) in enumerate(ios):
            for i in dict.fromkeys(inputs):
                uses.setdefault(i, []).append(k)
        if sid != 0:
            ends = ends + [(INDICES, p) for p in unit.index_out]  # returned beside the value
        for end in ends:
            uses.setdefault(end, []).append(len(items))  # the returned values outlive the body
        params: list[Any] = [0] if sid == 0 else list(unit.inputs)
        names: dict[Any, str] = {nid: ("x" if k == 0 else f"x{k}") for k, nid in enumerate(params)}
        if sid != 0:
            for k, p in enumerate(unit.index_in):  # `forward(self, x, indices)`
                names[(INDICES, p)] = "indices" if k == 0 else f"indices{k}"
                params.append((INDICES, p))
        generic = set(names.values())  # names that say nothing: free to rebind to the next value
        live = set(names.values())
        lines = []
        runs = self.current_runs
        skip: set[int] = set()
        origins: list[tuple[Any, str] | None] = []  # what made each line: (span, op class or "unit")
        for k, (item, (inputs, out)) in enumerate(zip(items, ios)):
            if k in skip:
                continue
            origins += [None] * (len(lines) - len(origins))
            origins.append(self._origin(item))
            if item[0] == "unit" and item[1] in runs:
                run = runs[item[1]]
                value = names[inputs[0]]  # it dies here (`runs` checked): the loop rebinds it
                last = self.units[run.units[-1]].outputs[0]
                skip.update(range(k + 1, k + len(run.units)))
                if run.whole:
                    lines += ["for layer in self.children():", f"    {value} = layer({value})"]
                else:
                    count = rec.lit(len(run.units), "count", forward=True, field="count")
                    lines += [f"for i in range({count}):",
                              f'    {value} = getattr(self, f"{run.prefix}{{i + {run.first}}}")({value})']
                names[last] = value
                if last in uses:
                    live.add(value)
                continue
            args = [names[i] for i in inputs]
            dying = [i for i in dict.fromkeys(inputs) if uses[i][-1] == k]
            for i in dying:
                live.discard(names[i])
            expr = self.expression(sid, item, args, rec)
            if item[0] == "node" and self.lowered[item[1]].inplace and isinstance(self.graph.nodes[item[1]].op,
                                                                                    ops.Add):
                target = args[0]  # `lower` made sure the first input dies here
                lines.append(f"{target} += {args[1]}")
            else:
                reusable = [names[i] for i in dying if names[i] in generic]
                flow = uses.get(out) == [k + 1]  # read once, by the very next line
                target = reusable[0] if reusable else self.fresh(live, "" if flow else self.local_name(item))
                if target.startswith("out"):
                    generic.add(target)
                if item[0] == "unit" and self.units[item[1]].index_out:  # a block returning pool indices too
                    live.add(target)
                    got = []
                    for p in self.units[item[1]].index_out:
                        got.append(self.fresh(live, _identifier(self.graph.nodes[p].path) + "_indices"))
                        names[(INDICES, p)] = got[-1]
                        live.add(got[-1])
                    lines.append(f"{target}, {', '.join(got)} = {expr}")
                elif item[0] == "node" and out in self.graph.indexed_pools:  # (values, indices)
                    live.add(target)
                    where = self.graph.nodes[out].path
                    inside = unit.scope.path
                    where = where[len(inside) + 1:] if inside and where.startswith(inside + ".") else where
                    indices = self.fresh(live, _identifier(where) + "_indices")
                    names[(INDICES, out)] = indices
                    live.add(indices)
                    lines.append(f"{target}, {indices} = {expr}")
                else:
                    lines.append(f"{target} = {expr}")
            if order is not None and owner[self.item_io(item)[1]] >= 0:  # an aux head: training only
                lines[-1] = _TRAINING + lines[-1]
            names[out] = target
            if out in uses:
                live.add(target)
        if order is not None:
            self.used["namedtuple"] = True
            values = {None: names[output], **{f.head: names[self.graph.head_named(f.head).output]
                                              for f in order.fields if f.head is not None}}
            lines.append(_TRAINING + f"return {order.type_name}({', '.join(values[f.head] for f in order.fields)})")
        returned = [names[output]] + ([names[(INDICES, p)] for p in unit.index_out] if sid != 0 else [])
        lines.append(f"return {', '.join(returned)}")
        origins += [None] * (len(lines) - len(origins))
        self.origins[sid] = origins[:len(lines)]
        return _training_blocks(lines), [names[i] for i in params]

    def _origin(self, item: tuple[str, int]) -> tuple[Any, str]:
        kind, i = item
        if kind == "unit":
            return self.units[i].scope.span, "unit"
        node = self.graph.nodes[i]
        return node.span, type(node.op).__name__

    def outputs_type(self) -> str | None:
        """`GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", ...])`: what training returns."""
        order = self.graph.training_outputs
        if order is None:
            return None
        fields = ", ".join(json.dumps(f) for f in order.names)
        return (f"# What the network returns in training (its aux heads' outputs beside the main one).\n"
                f"{order.type_name} = namedtuple({json.dumps(order.type_name)}, [{fields}])")

    def runs(self, sid: int, members: list[tuple[str, int]], tail: bool = False) -> list["Run"]:
        """Consecutive block instances of one class that a loop can make (DenseNet's denselayer1..N):
        names `prefix1`, `prefix2`, ... (or `0`, `1`, ...), arguments each constant or growing by a
        constant step, and a chain in the forward (each reads the previous one's output, nothing else
        reads those).  `tail`: the first of them is written on its own and the rest, however few, are the
        loop (torchvision's `_stack`: the first block with the stride, then `repeats - 1` more)."""
        found: list[Run] = []
        k = 0
        while k < len(members):
            j = k
            while j + 1 < len(members) and self._extends(members[k], members[j + 1], j + 1 - k):
                j += 1
            start = k + 1 if tail else k
            if tail and j >= start and self._chain(sid, [m[1] for m in members[start:j + 1]]):
                first = self.units[members[start][1]]
                match = re.fullmatch(r"(.*?)(\d+)", first.scope.name)
                found.append(Run([m[1] for m in members[start:j + 1]], match.group(1), int(match.group(2)),
                                 whole=False))
            elif not tail and j > k and self._chain(sid, [m[1] for m in members[k:j + 1]]):
                first = self.units[members[k][1]]
                match = re.fullmatch(r"(.*?)(\d+)", first.scope.name)
                run_units = [m[1] for m in members[k:j + 1]]
                found.append(Run(run_units, match.group(1), int(match.group(2)),
                                 whole=len(run_units) == len(members) and len(self.items(sid)) == len(run_units)))
            k = j + 1
        return found

    def _extends(self, start: tuple[str, int], member: tuple[str, int], offset: int) -> bool:
        if start[0] != "unit" or member[0] != "unit":
            return False
        a, b = self.instances.get(start[1]), self.instances.get(member[1])
        if a is None or b is None or a.cls != b.cls or a.optional or b.optional:
            return False
        if [(n, kw) for n, _, kw in a.args] != [(n, kw) for n, _, kw in b.args]:
            return False
        ma = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*?|)(\d+)", self.units[start[1]].scope.name)
        mb = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*?|)(\d+)", self.units[member[1]].scope.name)
        return bool(ma and mb and ma.group(1) == mb.group(1) and int(mb.group(2)) == int(ma.group(2)) + offset
                    and str(int(mb.group(2))) == mb.group(2))

    def _chain(self, sid: int, cids: list[int]) -> bool:
        """The instances follow each other: one input each, the previous one's output, read by nothing
        else; and the first one's input is read by nothing after it (the loop rebinds its name)."""
        users = self.graph.users
        units = [self.units[c] for c in cids]
        if any(len(u.inputs) != 1 or len(u.outputs) != 1 for u in units):
            return False
        for prev, nxt in zip(units, units[1:]):
            if nxt.inputs != (prev.outputs[0],):
                return False
            if any(user not in nxt.nodes for user in users[prev.outputs[0]]):
                return False
        start = units[0].inputs[0]
        inside = set(units[0].nodes)
        if any(user not in inside for user in users[start]) or start == self.graph.output:
            return False
        # every instance's arguments constant or an arithmetic progression
        columns = list(zip(*[[v for _, v, _ in self.instances[c].args] for c in cids]))
        return all(_progression(col) is not None for col in columns)

    def run_ctor(self, run: "Run", rec: Recorder) -> Expr:
        """`for i in range(COUNT): self.add_module(f"prefix{i + 1}", Block(START + i * STEP, ...))`."""
        first = self.instances[run.units[0]]
        args: list[tuple[str | None, Arg]] = []
        for k, (name, value, kw) in enumerate(first.args):
            column = [self.instances[c].args[k][1] for c in run.units]
            step = _progression(column)
            text = rec.lit(value, name, field=name, default=first.defaults.get(name, _NO_DEFAULT),
                           width=name in first.widths)
            if step:
                text = f"{text} + i * {rec.lit(step, f'{name}_step', field=name)}"
            args.append((name if kw else None, text))
        count = rec.lit(len(run.units), "count", field="count")
        defaults = {p: _literal(v) for p, v in first.defaults.items()}
        return Expr("\x01for", [(None, count), (None, Expr(first.cls, args, defaults=defaults))])

    def _with_indices(self, io: tuple[tuple[Any, ...], int], item: tuple[str, int]) -> tuple[tuple[Any, ...], int]:
        """A max-unpool reads its pool's indices, a value of its own (named beside the pool's output)."""
        inputs, out = io
        if item[0] != "node":  # a block class taking pool indices: after its value
            return tuple(inputs) + tuple((INDICES, p) for p in self.units[item[1]].index_in), out
        reads = self.graph.nodes[item[1]].op.indices_input
        if reads is None:
            return io
        return tuple((INDICES, i) if k == reads else i for k, i in enumerate(inputs)), out

    def fresh(self, live: set[str], hint: str) -> str:
        if hint and hint.isidentifier() and not keyword.iskeyword(hint) and hint not in live \
                and hint not in self.reserved and hint not in self.class_names and not hint.startswith("out"):
            return hint
        for k in range(len(live) + 2):
            name = f"out{k}" if k else "out"
            if name not in live:
                return name
        raise AssertionError("unreachable")

    def expression(self, sid: int, item: tuple[str, int], args: list[str], rec: Recorder) -> str:
        kind, i = item
        if kind == "unit":
            return f"{self.ref(sid, self.units[i].scope.path)}({', '.join(args)})"
        node = self.graph.nodes[i]
        low = self.lowered[i]
        if node.op.is_parameter:
            return PARAMETER_CODE[type(node.op)](self.ref(sid, node.path), args)
        if node.op.is_layer and not self.function_rendered(i):
            arg = f"torch.flatten({args[0]}, 1)" if low.flatten else ", ".join(args)  # a join takes several
            return f"{self.ref(sid, node.path)}({arg})"
        render = FUNCTION_LAYER_CODE.get(type(node.op)) if node.op.is_layer else FUNCTIONAL_CODE[type(node.op)]
        lit = lambda value, field: rec.lit(value, f"{node.name}_{field}", forward=True, field=field,  # noqa: E731
                                           origin=(node.span, field, None) if type(value) in (int, float) else None)
        return render(self, low, args, lit)

    # -- classes --

    def finish(self, drafts: list[Draft]) -> None:
        """One class per block definition where its instances unify (`write_family`); else, for that
        block only, one class per shape of code (`Bottleneck`, `Bottleneck2`)."""
        families: dict[str, list[Draft]] = {}
        for d in drafts:
            families.setdefault(_definition(d), []).append(d)
        for block, members in families.items():
            source = self.write_family(block, members)
            if source is None and any(self.runs(d.unit.scope.id, self.members(d.unit.scope.id), True) for d in members):
                # numbered blocks as a first one and a loop of the rest, in every instance alike (MNASNet's stacks
                # of 1 to 4 blocks)
                source = self.write_family(block, [self.draft(d.unit.scope.id, tail=True) for d in members])
            if source is None:
                # equal consecutive blocks written out rather than as a repeat, in every instance alike (FractalNet's
                # `col2: { fconv(w), fconv(w) }` is a repeat where the block keeps its width, two calls where not)
                self.unrolled = True
                try:
                    source = self.write_family(block, [self.draft(d.unit.scope.id) for d in members])
                finally:
                    self.unrolled = False
            if source is not None:
                self.refused.pop(block, None)
                self.classes.append(source)
            else:
                self.fallback.append(block)
                self.finish_by_shape(members)

    def finish_by_shape(self, drafts: list[Draft]) -> None:
        """Group drafts with the same code into classes and record each instance's arguments."""
        groups: dict[tuple, list[Draft]] = {}
        for d in drafts:
            key = (d.unit.scope.block, tuple((a, fmt(e, 0, float("inf"))) for a, e in d.init),
                   tuple(d.forward), tuple(d.params),
                   tuple(s.forward for s in d.slots))
            groups.setdefault(key, []).append(d)
        for (block, *_), members in groups.items():
            self.classes.append(self.write_class(block or "block", members))

    def write_class(self, block: str, drafts: list[Draft]) -> str:
        name = self.new_class_name(block)
        first = drafts[0]
        # A slot's column: its value in every instance (typed, so True and 1 stay apart).
        columns = [tuple((type(d.slots[k].value), d.slots[k].value) for d in drafts)
                   for k in range(len(first.slots))]
        semantic = self.semantic_vectors(drafts)
        taken = set(self.reserved) | self.class_names | _module_attrs(first)
        in_forward = {columns[k] for k in range(len(columns)) if first.slots[k].forward}
        params: dict[tuple, tuple[str, int]] = {}  # varying column -> (parameter, first slot)
        derived: dict[tuple, str] = {}             # varying column -> expression of a parameter
        for k, column in enumerate(columns):
            if len(set(column)) == 1 or column in params or column in derived:
                continue
            hint = next((n for n, vec in semantic if vec == column), None)
            relation = None if hint or column in in_forward else _relation(column, params)
            if relation:
                derived[column] = relation
            else:
                params[column] = (_unique(_identifier(hint or first.slots[k].hint), taken), k)
        texts = {}
        for k, column in enumerate(columns):
            if column in params:
                param = params[column][0]
                texts[k] = f"self.{param}" if first.slots[k].forward else param
            else:
                texts[k] = derived.get(column) or _literal(column[0][1])
        stored = sorted({params[columns[k]][0] for k in range(len(columns))
                         if columns[k] in params and first.slots[k].forward})
        for d in drafts:
            self.instances[d.unit.scope.id] = Instance(name, [(p, d.slots[k].value, True) for p, k in params.values()])
        where = first.unit.scope.path
        doc = (f"The `{block}` block at {where}." if len(drafts) == 1 else
               f"The `{block}` block, {len(drafts)} times: {where}, {drafts[1].unit.scope.path}"
               f"{', ...' if len(drafts) > 2 else '.'}")
        return self.class_source(name, doc, [p for p, _ in params.values()], stored, first, texts)

    def class_source(self, name: str, doc: str, signature: list[str], stored: Sequence[str | tuple[str, str]],
                     draft: Draft,
                     texts: dict[int, str], optional: dict[str, int] | None = None,
                     tail: Sequence[str] = (), forward: list[str] | None = None,
                     entry_guards: dict[str, dict[int, str]] | None = None, taken: set[str] | None = None,
                     built: dict[str, str] | None = None) -> str:
        """`optional`: members the caller passes (`downsample=None`), and the forward line each one's call is;
        `tail`: lines that end `__init__` (the network's global drop-path wiring)."""
        optional = optional or {}
        sub = lambda line: _MARKER.sub(lambda m: texts[int(m.group(1))], line)  # noqa: E731
        text = textwrap.fill(_doc(doc), LINE_WIDTH - 7, initial_indent="    ", subsequent_indent="    ")
        lines = [f"class {name}(nn.Module):",
                 f'    """{text[4:]}"""',
                 "",
                 "    " + fmt(Expr("def __init__", [(None, "self")] + [(None, p) for p in signature]), 4) + ":",
                 "        super().__init__()"]
        lines += [f"        self.{p} = {p}" if isinstance(p, str) else f"        self.{p[0]} = {p[1]}" for p in stored]
        for attr, expr in draft.init:
            if attr[0] == "\x01":  # a run of block instances: `for i in range(n): self.add_module(...)`
                count, ctor = (_map_leaves(v, sub) for _, v in expr.args)
                name = attr[1:]
                lines += [f"        for i in range({count}):",
                          f'            self.add_module(f"{name}", {fmt(ctor, 12, lead=len(name) + 35)})']
                continue
            if attr in optional:
                lines.append(f"        self.{attr} = {attr}")
                continue
            if built and attr in built:  # made where the spec's condition holds, else None
                end = f" if {built[attr]} else None"
                lines.append(f"        self.{attr} = {fmt(_map_leaves(expr, sub), 8, lead=len(attr) + 12 + len(end))}{end}")
                continue
            if entry_guards and attr in entry_guards:  # some entries only where a condition holds
                listed = _unique("layers", set(taken or ()) | set(signature))
                lines.append(f"        {listed}: list[nn.Module] = []")
                previous = None
                for k, (_, entry) in enumerate(expr.args):
                    guard = entry_guards[attr].get(k)
                    text = fmt(_map_leaves(entry, sub), 12 if guard else 8, lead=len(listed) + 8)
                    add = f"{listed} += {text[1:]}" if text.startswith("*[") else f"{listed}.append({text})"
                    if guard and guard != previous:  # consecutive entries under one condition share the `if`
                        lines.append(f"        if {guard}:")
                    lines.append(f"        {'    ' if guard else ''}{add}")
                    previous = guard
                target = f"self.{attr} = " if attr[0] != '"' else f"self.add_module({attr}, "
                lines.append(f"        {target}nn.Sequential(*{listed}){')' if attr[0] == chr(34) else ''}")
                continue
            register = "register_parameter" if expr.callee == "nn.Parameter" else "add_module"
            start = f"self.{register}({attr}, " if attr[0] == '"' else f"self.{attr} = "
            end = ")" if attr[0] == '"' else ""
            lines.append(f"        {start}{fmt(_map_leaves(expr, sub), 8, lead=len(start) + len(end))}{end}")
        lines += [f"        {line}" for line in tail]
        lines += ["", f"    def forward(self, {', '.join(draft.params)}):"]
        if forward is not None:
            lines += ["        " + sub(line) for line in forward]
            return "\n".join(lines)
        guarded = {k: attr for attr, k in optional.items()}
        for k, line in enumerate(draft.forward):
            if k in guarded:
                lines += [f"        if self.{guarded[k]} is not None:", "            " + sub(line)]
            else:
                lines.append("        " + sub(line))
        return "\n".join(lines)

    def write_family(self, block: str, drafts: list[Draft]) -> str | None:
        """The instances of one block definition as one class whose constructor takes the block's
        parameters as the spec names them (`Bottleneck(in_channels, width, stride=1, expansion=4,
        downsample=None)`), or None when they do not unify (then each shape keeps a class of its own).

        Parts some instances lack are written as torchvision writes them: a member as an argument
        (`downsample=None`, built by the caller); an entry of an `nn.Sequential` under the condition on the
        block's parameters that holds where it is there (`if expanded != in_channels: layers.append(...)`);
        a forward statement under such a condition (`if self.act == 'relu':`, `if self.proj is not None:`),
        or as one of several (`elif`).  Every reading is checked value by value against each instance's
        own forward (`pycode_family.align`)."""
        def entries(d: Draft) -> int:
            return sum(len(e.args) for _, e in d.init if e.keys is not None)

        base = max(drafts, key=lambda d: (len(d.init), entries(d), len(d.forward)))
        base = _union_entries(base, drafts)
        attrs = [a for a, _ in base.init]
        init_of = dict(base.init)
        pieces = {a: _marked(e) for a, e in base.init}
        full = group_lines(base.forward)
        full_origins = [_grouped_origins(base.forward, self.origins.get(base.unit.scope.id))]
        # Instances whose forward is not the fullest one with parts left out (ShuffleNet's stride-1 unit splits
        # its input where the stride-2 one has a second branch) form a second group with a forward of its own.
        against_full = [align(full, base.params, group_lines(d.forward), d.params) for d in drafts]
        other = [d for d, a in zip(drafts, against_full) if a is None]
        fulls = [full]
        if other:
            second = max(other, key=lambda d: len(d.forward))
            offset = len(base.slots)
            fulls.append(group_lines([_MARKER.sub(lambda m: f"\x00{int(m.group(1)) + offset}\x00", line)
                                      for line in second.forward]))
            full_origins.append(_grouped_origins(second.forward, self.origins.get(second.unit.scope.id)))
            base = Draft(base.unit, base.init, base.forward, base.params, base.slots + second.slots, base.members)
        group_of: list[int] = []
        zero: dict[int, set[int]] = {}  # a loop's count slot -> the instances that run it no times
        maps: list[dict[int, int]] = []
        steps: list[list[Step]] = []
        optional: dict[str, int] = {}
        absent_entries: dict[tuple[str, int], set[int]] = {}  # (attr, entry) -> instances without it
        for j, d in enumerate(drafts):
            path = d.unit.scope.path
            if d.params != base.params:
                return self.refuse(block, f"{path}: forward arguments differ")
            mine = [a for a, _ in d.init]
            if not _subsequence(mine, attrs):
                return self.refuse(block, f"{path}: members {mine} not a subsequence of {attrs}")
            mapping: dict[int, int] = {}
            for a, e in d.init:
                text, ids = _marked(e)
                if text == pieces[a][0]:
                    mapping.update(zip(pieces[a][1], ids))
                    continue
                where = _match_entries(init_of[a], e)
                if where is None:
                    return self.refuse(block, f"{path}: member {a}: {text!r} vs {pieces[a][0]!r}")
                for b_index, (_, entry) in zip(where, e.args):
                    mapping.update(zip(_marked(init_of[a].args[b_index][1])[1], _marked(entry)[1]))
                for b_index in set(range(len(init_of[a].args))) - set(where):
                    absent_entries.setdefault((a, b_index), set()).add(j)
            missing = [a for a in attrs if a not in mine and a[0] != "\x01"]
            for a in attrs:
                if a not in mine and a[0] == "\x01":  # a loop this instance runs no times
                    zero.setdefault(pieces[a][1][0], set()).add(j)
            mine_lines = group_lines(d.forward)
            group, aligned = 0, against_full[j]
            if aligned is None and len(fulls) > 1:
                group, aligned = 1, align(fulls[1], base.params, mine_lines, d.params)
            if aligned is None:
                return self.refuse(block, f"{path}: forward {d.forward!r} is not a part of {base.forward!r}"
                                          f"{' or of ' + repr(fulls[1]) if len(fulls) > 1 else ''}")
            for k, step in enumerate(aligned):
                if step.kind == "drop" and _is_run_loop(fulls[group][k]):
                    zero.setdefault(_marked_lines([fulls[group][k]])[1][0], set()).add(j)
                used = set(re.findall(r"\bself\.(\w+)", fulls[group][k]))
                if used & set(missing) and step.kind != "drop":
                    return self.refuse(block, f"{path}: {fulls[group][k]!r} uses a member it lacks")
                if step.kind == "match":
                    mapping.update(zip(_marked_lines([fulls[group][k]])[1],
                                       _marked_lines([mine_lines[step.other]])[1]))
            group_of.append(group)
            for a in missing:
                optional[a] = 0
            maps.append(mapping)
            steps.append(aligned)
        for a in optional:
            expr = init_of[a]
            if a[0] in '"\x01' or expr.callee == "nn.Parameter":
                return self.refuse(block, f"optional member {a!r} is not an attribute module")
        built_uses: set[str] = set()
        bases = self.family_bases(drafts)
        if bases is None:
            return self.refuse(block, "block parameter names unusable")
        # An optional member the spec makes under a condition of the block's own (`if dropout > 0 { dropout: ... }`)
        # is built by the class under it; one the shapes decide (a projection shortcut) is passed, `downsample=None`.
        built: dict[str, str] = {}
        for a in [a for a in attrs if a in optional]:
            truth = tuple(a in [x for x, _ in d.init] for d in drafts)
            holder = next(d for d in drafts if a in [x for x, _ in d.init])
            member = holder.members[[x for x, _ in holder.init].index(a)]
            found = self.spec_condition(block, drafts, truth, self._origin(member), bases, f"member {a}", set(),
                                        note=False)  # (else passed by the caller: nothing fitted)
            if found is not None:
                built[a] = found[0]
                optional.pop(a)
                built_uses.update(found[1])
        skipped = {k for a in optional for k in pieces[a][1]}
        # the spec's `if` choosing between two forwards, if it reads: a number may differ with it too
        choice = (self.spec_choice(block, drafts, [g == 0 for g in group_of], full_origins, bases, set())
                  if len(fulls) > 1 else None)
        names = {n for n, _ in bases}
        taken = set(self.reserved) | self.class_names | names | set(attrs)
        texts: dict[int, str] = {}
        referenced: set[str] = set(built_uses)
        extras: dict[tuple, str] = {}  # an unexplained varying column -> its parameter
        extra_values: dict[str, tuple] = {}  # its value in each instance
        stored: set[str] = set()
        widths: set[str] = set()
        counted: set[str] = set()  # parameters a loop's count is
        kept_as: dict[str, str] = {}

        def kept(param: str) -> str:
            """The attribute a parameter the forward reads is kept in: its name, unless a member has it
            (Inception-ResNet's `relu` flag beside its `relu` module: `self.relu_`)."""
            if param not in kept_as:
                kept_as[param] = _unique(f"{param}_", taken) if param in attrs else param
            return kept_as[param]

        plain: dict[int, str] = {}  # a slot's expression with the parameters bare (`width`, not `self.width`)
        spec_widths: list[tuple[str, Any, Any]] = []  # the spec's argument expressions read so far: (text, tree, reader)
        for k in sorted(range(len(base.slots)), key=lambda k: base.slots[k].field != "count"):  # counts first
            slot = base.slots[k]
            if k in skipped:
                continue
            there = [j for j, m in enumerate(maps) if k in m or j in zero.get(k, ())]
            if not there:  # only in statements no other instance has: the base's literal
                texts[k] = _literal(slot.value)
                continue
            values = tuple(drafts[j].slots[maps[j][k]].value if k in maps[j] else 0 for j in there)
            some = [(n, tuple(c[j] for j in there)) for n, c in bases]
            typed = tuple((type(v), v) for v in values)
            read = self.spec_argument(block, drafts, there, values, slot, bases) if slot.origin else None
            if read is None and slot.has_default and set(typed) == {(type(slot.default), slot.default)}:
                texts[k] = _literal(values[0])  # torch's default everywhere: left out (unless the spec writes it)
                continue
            if slot.width or slot.field in CHANNEL_FIELDS:  # a loop's count is no width (DenseNet-40's 12 and 12)
                some = [b for b in some if b[0] not in counted] or some
            # a child block's argument: the expression the spec writes for it, where it reads (`make_divisible(...)`)
            if read is not None:
                expr = read[0]
                spec_widths.append(read)
            else:
                expr = fit(values, slot.field, some, width=slot.width)
                if slot.field in ("in_channels", "in_features") and (expr is None or (
                        expr != "in_channels" and "in_channels" in re.findall(r"\w+", expr))):
                    # a width read from an earlier layer rather than from the block's input: that layer's, where it
                    # gives this one in every instance (a squeeze-excite reads its expansion conv's
                    # `make_divisible(in_channels * t)`, ENet's second conv its first one's `out // 4`)
                    expr = _same_width(spec_widths, there, values, bases) or expr
                elif expr is not None and slot.field in ("out_channels", "out_features"):
                    try:
                        spec_widths.append((expr, guards.from_python(expr), None))
                    except guards.Unreadable:
                        pass
            if expr is not None and slot.field == "count":
                counted.update(set(re.findall(r"[A-Za-z_]\w*", expr)) & names)
            if expr is None and len(set(typed)) == 1:
                texts[k] = _literal(values[0])
                continue
            if expr is None and choice is not None:  # one expression in each forward's instances
                sides = [[i for i, j in enumerate(there) if group_of[j] == g] for g in (0, 1)]
                if all(sides):
                    picked = [fit(tuple(values[i] for i in side), slot.field,
                                  [(n, tuple(c[i] for i in side)) for n, c in some], width=slot.width) for side in sides]
                    if None not in picked:
                        expr = f"{picked[0]} if {choice[0]} else {picked[1]}"
            if expr is None:
                key = (tuple(there), typed)
                if key not in extras:
                    extras[key] = _unique(_identifier(slot.hint), taken)
                    every = [values[0]] * len(drafts)
                    for j, v in zip(there, values):
                        every[j] = v
                    extra_values[extras[key]] = tuple(every)
                expr = extras[key]
            used = set(re.findall(r"[A-Za-z_]\w*", expr)) & (names | set(extra_values))
            referenced |= used
            if slot.width or slot.field in CHANNEL_FIELDS:
                widths |= used
            plain[k] = expr
            if slot.forward:
                stored |= used
                expr = _replace_names(expr, used, lambda x: f"self.{kept(x)}")
            texts[k] = expr
        # the parts some instances lack: under conditions on the parameters
        presence = [(a, tuple(a in [x for x, _ in d.init] for d in drafts)) for a in attrs
                    if a in optional or a in built]

        def flag(hint: str, truth: tuple[bool, ...]) -> str:
            name = _unique(f"use_{_identifier(hint)}", taken)
            extra_values[name] = truth
            return name

        def spec(truth: Sequence[bool], members: list[int], origin: tuple[Any, str] | None,
                 what: str, statement: str = "") -> tuple[str, set[str]] | None:
            """The spec's own condition for a part made at `origin`, checked on the instances `members`.  An
            option-A shortcut's zero padding is there where the body changes the shape: its own stride and
            width (the statement's slots) against the block's, `stride != 1 or width != in_channels`."""
            changes = None
            if origin is not None and origin[1] == "ZeroPadShortcut" and statement:
                ids = _marked_lines([statement])[1]
                try:
                    width, stride = (guards.from_python(plain[k]) for k in ids) if len(ids) == 2 else (None, None)
                    if width is not None:
                        changes = ("or", ("bin", "!=", stride, ("const", 1)), ("bin", "!=", width, ("var", "in_channels")))
                except (guards.Unreadable, KeyError):
                    changes = None
            return self.spec_condition(block, [drafts[j] for j in members], truth, origin, bases,
                                       _MARKER.sub("#", what), referenced, changes)

        entry_guards: dict[str, dict[int, str]] = {}
        for (a, b_index), without in sorted(absent_entries.items()):
            truth = tuple(j not in without for j in range(len(drafts)))
            keys = init_of[a].keys
            origin = (keys[b_index][1], "unit" if keys[b_index][0] == "unit" else "node") if keys else None
            found = spec(truth, list(range(len(drafts))), origin, f"entry {b_index} of {a}") or condition(truth, bases)
            if found is None:
                text = flag(f"{a}_{b_index}", truth)
                found = (text, {text})
            entry_guards.setdefault(a, {})[b_index] = found[0]
            referenced |= found[1]
        def render(group: int) -> list[str] | None:
            """The forward of one group: its statements, those some instances lack under conditions."""
            members = [j for j, g in enumerate(group_of) if g == group]
            mine = [(n, tuple(c[j] for j in members)) for n, c in bases]
            there = [(a, tuple(c[j] for j in members)) for a, c in presence]
            lines: list[str] = []
            statements = fulls[group]
            for k, statement in enumerate(statements):
                column = [steps[j][k] for j in members]
                relax = any(c.relax for c in column)
                text = _unaugment(statement) if relax else statement
                if all(c.kind == "match" or _is_run_loop(statement) for c in column):  # a loop may run 0 times
                    lines += text.split("\n")
                    continue
                variants: dict[str, list[bool]] = {text: [c.kind == "match" for c in column]}
                for j, c in zip(members, column):
                    if c.kind == "alt":
                        alt = _MARKER.sub(lambda m: _literal(drafts[j].slots[int(m.group(1))].value), c.text)
                        variants.setdefault(alt, [False] * len(members))[members.index(j)] = True
                if any(c.kind == "drop" for c in column):
                    pair = target_and_source(statement, base.params, statements[:k])
                    if pair is None:
                        self.refuse(block, f"{statement!r} left out without a value to keep")
                        return None
                    if pair[0] != pair[1]:
                        lines.append(f"{pair[0]} = {pair[1]}")  # what it holds where the statement is left out
                mentions = bool(set(re.findall(r"\bself\.(\w+)", statement)) & (set(optional) | set(built)))
                origin_of = {text: full_origins[group][k]}
                for j, c in zip(members, column):
                    if c.kind == "alt":
                        alt = _MARKER.sub(lambda m: _literal(drafts[j].slots[int(m.group(1))].value), c.text)
                        mine_origins = _grouped_origins(drafts[j].forward, self.origins.get(drafts[j].unit.scope.id))
                        origin_of.setdefault(alt, mine_origins[c.other] if c.other < len(mine_origins) else None)
                for n, (variant, truth) in enumerate(variants.items()):
                    cond = None
                    if not mentions:  # (an optional member's own call keeps `self.downsample is not None`)
                        found = spec(truth, members, origin_of.get(variant),
                                     repr(_MARKER.sub("#", variant.splitlines()[0])),
                                     statement if variant == text else "")
                        if found is not None:
                            referenced.update(found[1])
                            stored.update(found[1])
                            cond = _replace_names(found[0], found[1], lambda x: f"self.{kept(x)}")
                    if cond is None:
                        cond = guard(truth, members, mine, there, mentions, len(variants) > 1, statement,
                                     statements[:k])
                    if cond is None:
                        self.refuse(block, f"no condition for {variant!r}")
                        return None
                    lines.append(f"{'if' if n == 0 else 'elif'} {cond}:")
                    lines += ["    " + line for line in variant.split("\n")]
            return lines

        def guard(truth: list[bool], members: list[int], mine: list, there: list, mentions: bool, several: bool,
                  statement: str, before: list[str]) -> str | None:
            found = condition(truth, mine, there, prefer_members=mentions)
            if found is None:
                if several:
                    return None
                hint = target_and_source(statement, base.params, before) if statement else None
                every = [False] * len(drafts)
                for j, t in zip(members, truth):
                    every[j] = t
                name = flag(hint[0] if hint else "step", tuple(every))
                found = (name, {name})
            cond, used = found
            referenced.update(used)
            stored.update(used)
            return _replace_names(cond, used, lambda x: f"self.{kept(x)}")

        forward = render(0)
        if forward is None:
            return None
        if len(fulls) > 1:
            second_forward = render(1)
            if second_forward is None:
                return None
            cond = choice
            if cond is not None:
                referenced.update(cond[1])
                stored.update(cond[1])
                cond = _replace_names(cond[0], cond[1], lambda x: f"self.{kept(x)}")
            else:
                cond = guard([g == 0 for g in group_of], list(range(len(drafts))), bases, presence, False, False,
                             "", [])
            # the statements both end with (`x = channel_shuffle(x, 2)`, `return x`) once, after the if/else
            resolve = lambda line: _MARKER.sub(lambda m: texts.get(int(m.group(1)), "?"), line)  # noqa: E731
            shared = 0
            while shared < min(len(forward), len(second_forward)) - 1 and \
                    resolve(forward[-1 - shared]) == resolve(second_forward[-1 - shared]):
                shared += 1
            while shared and (forward[-shared].startswith(" ") or second_forward[-shared].startswith(" ")):
                shared -= 1
            tail = forward[len(forward) - shared:]
            forward = ([f"if {cond}:"] + ["    " + line for line in forward[:len(forward) - shared]] + ["else:"]
                       + ["    " + line for line in second_forward[:len(second_forward) - shared]] + tail)
        calls = [d.unit.scope.call for d in drafts]
        columns = dict(bases)
        spec = [n for n, _ in bases if n != "in_channels" and n in referenced]
        defaults: dict[str, Any] = {}
        for n in spec:
            defaulted = {(type(columns[n][j]), columns[n][j]) for j, c in enumerate(calls)
                         if n not in {guards.python_name(g) for g in c.given}}
            if len(defaulted) == 1:
                value = next(iter(defaulted))[1]
                try:
                    _check_literal(value)
                except TypeError:
                    continue
                defaults[n] = value
        for n in spec:
            for v in columns[n]:
                try:
                    _check_literal(v)
                except TypeError:
                    return self.refuse(block, f"parameter {n} takes {v!r}, which cannot be written")
        required = (["in_channels"] if "in_channels" in referenced else []) + [n for n in spec if n not in defaults]
        signature = required + list(extra_values) + [f"{n}={_literal(defaults[n])}" for n in spec if n in defaults]
        signature += [f"{a}=None" for a in attrs if a in optional]
        arguments = [p.split("=")[0] for p in signature]
        if len(set(arguments)) != len(arguments):
            return self.refuse(block, f"a parameter and an optional member share a name: {arguments}")
        name = self.new_class_name(block)
        for j, d in enumerate(drafts):
            args: list[tuple[str, Any, bool]] = [(n, columns[n][j], False) for n in required]
            args += [(e, values[j], True) for e, values in extra_values.items()]
            args += [(n, columns[n][j], True) for n in spec if n in defaults]
            present = [a for a, _ in d.init]
            extra_members = [(a, member) for (a, _), member in zip(d.init, d.members) if a in optional and a in present]
            self.instances[d.unit.scope.id] = Instance(name, args, extra_members,
                                                       {n: defaults[n] for n in spec if n in defaults},
                                                       frozenset(widths))
        fixed = [f"{n}={_show(v)}" for n, v in (calls[0].args if calls[0] else ())
                 if v is not None and guards.python_name(n) not in referenced and len({(type(c.value(n)), c.value(n)) for c in calls}) == 1]
        where = ", ".join(d.unit.scope.path for d in drafts[:3]) + (", ..." if len(drafts) > 3 else "")
        doc = f"The `{block}` block ({len(drafts)} {'instance' if len(drafts) == 1 else 'instances'}: {where})."
        if fixed:
            doc += f" As built here: {', '.join(fixed)}."
        return self.class_source(name, doc, signature, sorted((kept(p), p) for p in stored), base, texts, optional,
                                 forward=forward, entry_guards=entry_guards, taken=taken, built=built)

    def spec_condition(self, block: str, drafts: list[Draft], truth: Sequence[bool], origin: tuple[Any, str] | None,
                       bases: list[tuple[str, tuple]], what: str, keep: set[str],
                       changes: Any = None, note: bool = True) -> tuple[str, set[str]] | None:
        """The condition the spec writes for a part of `block` made at `origin` (`pycode_guards.presence`),
        as (Python text over the class's parameters, the parameters it reads), where it holds exactly in
        the instances `truth` says; else None, the reason kept in `Generator.fitted`."""
        try:
            tree, reader = self._presence(drafts, truth, origin, bases, keep, changes)
            return self._guard_text(tree, reader)
        except guards.Unreadable as err:
            if note:
                self.fitted.setdefault(block, []).append(f"{_MARKER.sub('#', what)}: {err}")
            return None

    def spec_argument(self, block: str, drafts: list[Draft], there: list[int], values: tuple, slot: Slot,
                      bases: list[tuple[str, tuple]]) -> tuple[str, Any, Any] | None:
        """A child block's argument as the spec writes it in the call (`pycode_guards.argument`), giving the
        slot's value in every instance that has it: (its text, tree, reader); None (the reason in
        `Generator.fitted`) where it does not read, and for the width coming in (no argument of the spec)."""
        if slot.origin is None:
            return None
        span, param, child = slot.origin
        try:
            definition, functions, columns = self._spec_of([drafts[j] for j in there],
                                                           [(n, tuple(c[j] for j in there)) for n, c in bases])
            fixed = {n: c[0] for n, c in columns.items()
                     if not all(guards.writable(v) for v in c) and len({repr(v) for v in c}) == 1}
            tree, reader = guards.argument(definition, functions, span, child, param, columns, values, fixed)
            if tree[0] == "const":
                return None  # a number written in the call: the literal, as fitted
            text, _ = self._guard_text(tree, reader)
            return text, tree, reader
        except guards.Defaulted:
            return None
        except guards.Unreadable as err:
            if child is not None:  # (a primitive's number is only tried: most take several)
                self.fitted.setdefault(block, []).append(f"{slot.hint}: {err}")
            return None

    def spec_choice(self, block: str, drafts: list[Draft], truth: Sequence[bool],
                    origins: list[list[tuple[Any, str] | None]], bases: list[tuple[str, tuple]], keep: set[str]
                    ) -> tuple[str, set[str]] | None:
        """The condition choosing the first of two forwards (ShuffleNet's `if stride == 1 { ... } else { ... }`):
        one of the `if`s the statements of either stand in, the one true exactly where `truth` says."""
        why = "no `if` of the spec separates the two forwards"
        for group, polarity in ((0, True), (1, False)):
            for origin in origins[group]:
                if origin is None:
                    continue
                try:
                    definition, functions, columns = self._spec_of(drafts, bases)
                    place = guards.locate(definition, origin[0])
                    if place is None:
                        continue
                    for cond, taken in place.conditions:
                        reader = guards.Reader([p.name for p in definition.params],
                                               guards.fixed_values(definition, columns, keep), place.lets,
                                               {f.name: f for f in functions})
                        tree = reader.read(cond)
                        if taken != polarity:
                            tree = guards.negate(tree)
                        try:
                            guards.check(tree, columns, truth, reader)
                        except guards.Unreadable as err:
                            why = str(err)
                            continue
                        return self._guard_text(tree, reader)
                except guards.Unreadable as err:
                    why = str(err)
        self.fitted.setdefault(block, []).append(f"the choice of forward: {why}")
        return None

    def _spec_of(self, drafts: list[Draft], bases: list[tuple[str, tuple]]) -> tuple[Any, tuple, dict[str, tuple]]:
        calls = [d.unit.scope.call for d in drafts]
        definition = calls[0].definition if calls[0] is not None else None
        if definition is None or any(c is None or c.definition is not definition for c in calls):
            raise guards.Unreadable("the instances do not record their block's definition")
        return definition, calls[0].functions, dict(bases)

    def _presence(self, drafts: list[Draft], truth: Sequence[bool], origin: tuple[Any, str] | None,
                  bases: list[tuple[str, tuple]], keep: set[str], changes: Any = None) -> tuple[Any, Any]:
        if origin is None:
            raise guards.Unreadable("its origin in the spec is not known")
        if any(d.unit.scope.id not in self.origins for d in drafts):
            raise guards.Unreadable("its origin in the spec is not known")
        definition, functions, columns = self._spec_of(drafts, bases)
        return guards.presence(definition, functions, origin[0], origin[1], columns, truth,
                               guards.fixed_values(definition, columns, keep), changes)

    def _guard_text(self, tree: Any, reader: Any) -> tuple[str, set[str]]:
        """A condition's text (the parameters bare: the caller writes `self.` where the forward reads them),
        the spec functions it calls written into the file."""
        for name in sorted(reader.used_functions):
            if name in self.reserved or name in self.class_names:
                raise guards.Unreadable(f"the function name {name} is taken in the generated file")
        text = guards.render(tree)
        sources: dict[str, str] = {}
        while set(reader.used_functions) - set(sources):  # (writing one may need another)
            for name in sorted(set(reader.used_functions) - set(sources)):
                if name in self.reserved or name in self.class_names:
                    raise guards.Unreadable(f"the function name {name} is taken in the generated file")
                sources[name] = guards.function_source(reader, name)
        for name, source in sources.items():
            self.spec_functions.setdefault(name, source)
        return text, guards.names_in(tree)

    def refuse(self, block: str, why: str) -> None:
        """Record why the instances of `block` keep one class per shape (`Generator.refused`)."""
        self.refused.setdefault(block, why)
        return None

    def family_bases(self, drafts: list[Draft]) -> list[tuple[str, tuple]] | None:
        """The values a class's parameters can take their names from, per instance: the block's own
        parameters (spec order), then `in_channels` (the width coming in)."""
        calls = [d.unit.scope.call for d in drafts]
        out: list[tuple[str, tuple]] = []
        if all(c is not None for c in calls) and len({(c.block, tuple(n for n, _ in c.args)) for c in calls}) == 1:
            for n, _ in calls[0].args:
                name = guards.python_name(n)  # (`global` is `global_`)
                if not name.isidentifier() or name in self.reserved or name == "self":
                    return None
                out.append((name, tuple(_python_value(c.value(n)) for c in calls)))
        if len(drafts[0].unit.inputs) == 1 and "in_channels" not in {n for n, _ in out}:
            out.append(("in_channels", tuple(self.graph.nodes[d.unit.inputs[0]].type.channels for d in drafts)))
        return out

    def semantic_vectors(self, drafts: list[Draft]) -> list[tuple[str, tuple]]:
        """Width in, width out and stride of each instance: the natural names of block parameters
        (for one-input blocks only: with several inputs "in" would be ambiguous)."""
        if len(drafts[0].unit.inputs) != 1:
            return []

        def vec(f: Callable[[Unit], Any]) -> tuple:
            return tuple((type(v), v) for v in (f(d.unit) for d in drafts))

        def types(u: Unit):
            return self.graph.nodes[u.inputs[0]].type, self.graph.nodes[u.outputs[0]].type

        def stride(u: Unit) -> Any:
            a, b = types(u)
            if not (a.is_image and b.is_image) or a.height % b.height or a.width % b.width:
                return None
            s = (a.height // b.height, a.width // b.width)
            return s[0] if s[0] == s[1] else s

        return [("in_channels", vec(lambda u: types(u)[0].channels)),
                ("out_channels", vec(lambda u: types(u)[1].channels)),
                ("stride", vec(stride))]

    def new_class_name(self, base: str) -> str:
        name = class_name(base)
        candidate, k = name, 2
        while candidate in self.class_names or candidate in self.reserved:
            candidate, k = f"{name}{k}", k + 1
        self.class_names.add(candidate)
        return candidate

    # -- the file --

    def run(self) -> str:
        self.classify()
        # The network's class is named first; a block of the same name gets the suffix.
        blocks = {class_name(s.block) for s in self.graph.scopes if s.block}
        name = class_name(self.net.member_name)  # `Resnet20Depth56` for resnet20 with depth=56
        self.network_class_name = self.new_class_name(name + "Net" if name in blocks else name)
        heights = _heights(self.units)
        classes = [u.scope.id for u in self.units if u.kind == CLASS]
        for level in sorted({heights[s] for s in classes}):
            self.finish([self.draft(s) for s in classes if heights[s] == level])
        d = self.draft(0)
        texts = {k: _literal(slot.value) for k, slot in enumerate(d.slots)}
        parameters = dict(self.net.parameters)
        classes = next((n for n in ("num_classes", "classes") if type(parameters.get(n)) is int), None)
        signature = []
        head = self.classifier_hints()
        aux = self.aux_classifier_slots(d)
        for k, slot in enumerate(d.slots):  # the classifier's width, torchvision's `num_classes`
            if not slot.forward and (slot.hint in head or k in aux):
                texts[k] = "num_classes"
        if "num_classes" in texts.values():
            signature.append(f"num_classes={self.net.output_type.channels}")
        self.root_draft = d
        taken = None
        if self.family is not None:
            fitted = self.member_texts(d, texts)
            if fitted is not None:
                texts.update(fitted)
                taken = self.family
                signature.insert(0, f"{self.family}={_literal(parameters[self.family])}")
        doc = f"{self.net.title}: input {self.net.input_type} -> output {self.net.output_type}."
        if taken:
            sampled = [parameters[taken]] + [dict(m.parameters)[taken] for m in self.family_members]
            values = ", ".join(str(v) for v in sampled)
            doc += (f" Any `{taken}` the spec allows (its numbers are expressions of it, read from the members"
                    f" {taken}={values}).")
        fixed = [f"{n}={_show(v)}" for n, v in self.net.parameters
                 if not (n == classes and signature) and n != taken and _plain(v)]
        if fixed:
            doc += f" Built for {', '.join(fixed)}. `resdsl compile --set NAME=VALUE` writes another member."
        tail = []
        if any(isinstance(n.op, ops.Mean) and n.op.global_drop for n in self.graph.nodes):
            self.used["ColumnDropPath"] = self.used["global_drop_path"] = True
            tail = ["global_drop_path(self)  # FractalNet's joins share one column draw per forward"]
        if not self.net.init.empty:  # the spec's init rules, applied as resdsl.build applies them
            self.used["init_weights"] = True
            self.used.update(dict.fromkeys(self.net.init.runtime_pieces(), True))  # variance_scaling_
            tail.append("init_weights(self, INIT_BY_TYPE, INIT_BY_PATH)")
        self.net_class = self.class_source(self.network_class_name, doc, signature, [], d, texts, tail=tail)
        return self.assemble()

    def member_texts(self, d: Draft, texts: dict[int, str]) -> dict[int, str] | None:
        """The network class's numbers as expressions of the family parameter, from the other members' code
        (which must differ from this one's in those numbers only), or None (`family_refused` says why)."""
        name = self.family
        own = dict(self.net.parameters).get(name)

        def refuse(why: str) -> None:
            self.family_refused = why
            return None

        if type(own) is not int or not self.family_members:
            return refuse(f"{name} is not a whole-number parameter with members to compare")
        if not (name.isidentifier() and not keyword.iskeyword(name)) or name in self.reserved or name == "num_classes":
            return refuse(f"{name} cannot be an argument name")
        values = [own]
        others: list[Draft] = []
        mine = [_undocumented(c) for c in self.classes]
        for member in self.family_members:
            g = Generator(member)
            g.repeat_singles = True
            g.run()
            if [_undocumented(c) for c in g.classes] != mine:
                return refuse(f"the block classes of {member.title} differ")
            if member.init.runtime_tables() != self.net.init.runtime_tables():
                return refuse(f"the init rules of {member.title} name other paths")
            od = g.root_draft
            if [(a, _marked(e)[0]) for a, e in od.init] != [(a, _marked(e)[0]) for a, e in d.init] or \
                    _marked_lines(od.forward)[0] != _marked_lines(d.forward)[0] or len(od.slots) != len(d.slots):
                return refuse(f"the network class of {member.title} differs in more than numbers")
            values.append(dict(member.parameters)[name])
            others.append(od)
        out: dict[int, str] = {}
        for k, slot in enumerate(d.slots):
            column = [slot.value] + [od.slots[k].value for od in others]
            if len({(type(v), v) for v in column}) == 1:
                continue
            expr = _linear(column, values, name)
            if expr is None or slot.forward or texts[k] == "num_classes":
                return refuse(f"{slot.hint} ({column}) is no expression of {name} ({values})")
            out[k] = expr
        return out

    def assemble(self) -> str:
        from resdsl import __version__

        net = self.net
        name = self.network_class_name
        title = _doc(net.title)  # validated names and shown values; filtered again since it lands inside strings
        head = [f'"""{title}, generated by resdsl {__version__}: a standalone PyTorch model.',
                "",
                f"Input {net.input_type} -> output {net.output_type}; {net.params:,} parameters; "
                f"{net.macs:,} multiply-accumulates per image.",
                f"Usage: `model = {name}()`; its state_dict has the layout of `resdsl.build` (torchvision's",
                "where the spec uses torchvision's names), so the same weights load with strict=True.",
                '"""',
                "from __future__ import annotations",
                ""]
        imports = [n for n in ("OrderedDict", "namedtuple") if self.used.get(n)]
        if imports:
            head += [f"from collections import {', '.join(imports)}", ""]
        head += ["import torch", "import torch.nn.functional as F", "from torch import nn", "",
                 f"__all__ = [{json.dumps(name)}, \"INPUT_SHAPE\"]", "",
                 f"INPUT_SHAPE = {tuple(net.input_type.shape)!r}"]
        if not net.init.empty:
            head += ["", *_init_tables(net)]
        parts = []
        for helper, source in _helpers():
            if self.used.get(helper):
                parts.append(source)
        parts += [self.spec_functions[n] for n in sorted(self.spec_functions)]  # the spec's `def`s the classes call
        if self.outputs_type() is not None:
            parts.append(self.outputs_type())
        parts.extend(self.classes)
        parts.append(self.net_class)
        parts.append(f'if __name__ == "__main__":\n'
                     f"    model = {name}().eval()\n"
                     f"    with torch.no_grad():\n"
                     f"        y = model(torch.randn(1, *INPUT_SHAPE))\n"
                     f"    print(f\"{title}: {{sum(p.numel() for p in model.parameters()):,}} parameters, \"\n"
                     f"          f\"output {{tuple(y.shape)}}\")")
        if not any(re.search(r"\bF\.", part) for part in parts):  # an unused import is a lint error
            head.remove("import torch.nn.functional as F")
        return "\n\n\n".join(["\n".join(head), *parts]) + "\n"


# ---- aux heads: their lines run in training only ------------------------------------------------

_TRAINING = "\x01"  # marks a forward line of an aux head until `_training_blocks` writes the `if`


def _same_width(read: list[tuple[str, Any, Any]], there: list[int], values: tuple,
                bases: list[tuple[str, tuple]]) -> str | None:
    """The latest of the spec's expressions `read` that gives `values` in the instances `there`."""
    columns = dict(bases)
    for text, tree, reader in reversed(read):
        try:
            if all(guards.evaluate(tree, {n: c[j] for n, c in columns.items()}, reader) == v and
                   type(guards.evaluate(tree, {n: c[j] for n, c in columns.items()}, reader)) is type(v)
                   for j, v in zip(there, values)):
                return text
        except (guards.Unreadable, TypeError, ValueError, ZeroDivisionError, OverflowError, KeyError):
            continue
    return None


def _grouped_origins(lines: Sequence[str], origins: Sequence[Any] | None) -> list[Any]:
    """The origin of each statement `group_lines` makes of `lines` (its first line's)."""
    if origins is None or len(origins) != len(lines):
        return [None] * len(group_lines(lines))
    out: list[Any] = []
    for k, (line, origin) in enumerate(zip(lines, origins)):
        if not (line.startswith(" ") and k):
            out.append(origin)
    return out


def _training_blocks(lines: list[str]) -> list[str]:
    """Runs of marked lines under one `if self.training:`."""
    out: list[str] = []
    inside = False
    for line in lines:
        marked = line.startswith(_TRAINING)
        if marked and not inside:
            out.append("if self.training:")
        out.append("    " + line[1:] if marked else line)
        inside = marked
    return out


# ---- rendering of functional nodes (and of stateless layers written as functions) ----------------

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
    return f"zero_pad_shortcut({args[0]}, {lit(op.out_channels, 'out_channels')}, {lit(_short(op.stride), 'stride')})"


def _code_crop(g: Generator, low: Lowered, args: list[str], lit: Lit) -> str:
    g.used["center_crop"] = True
    return f"center_crop({args[0]}, {lit(_short(low.node.op.size), 'size')})"


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
    return f"{fn}({args[0]}, {lit(_short(low.node.op.output), 'output_size')})"


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


# ---- helpers ------------------------------------------------------------------------------------

_GROUP_SOURCE = '''class Group(nn.Module):
    """Named layers that the enclosing module's forward calls one by one."""

    def __init__(self, *layers: tuple[str, nn.Module | nn.Parameter]):
        super().__init__()
        for name, layer in layers:
            if isinstance(layer, nn.Parameter):
                self.register_parameter(name, layer)
            else:
                self.add_module(name, layer)'''


# The runtime pieces a generated file may define, in the order it defines them.
RUNTIME_PIECES = ("DropPath", "zero_pad_shortcut", "center_crop", "gated_sum", "LayerNorm2d", "ChannelLinear",
                  "channel_shuffle", "Scale", "MeanJoin", "channel_affine",
                  "ColumnDropPath", "global_drop_path", "MaxUnpool", "variance_scaling_", "init_weights")


def _init_tables(net: Network) -> list[str]:
    """The spec's init rules as the two tables `init_weights` takes (fixed words, numbers and module paths)."""
    by_type, by_path = net.init.runtime_tables()
    lines = ["# How the weights start (the spec's `init` rules): per layer class, (the torch.nn.init function and its",
             "# arguments for the weight, the bias's constant); None keeps PyTorch's default.  INIT_BY_PATH: the",
             "# layers of this member whose rule differs from their class's (a block's own rules, residual BNs)."]
    for title, table in (("INIT_BY_TYPE", by_type), ("INIT_BY_PATH", by_path)):
        if not table:
            lines.append(f"{title} = {{}}")
            continue
        lines.append(f"{title} = {{")
        lines += [f"    {key!r}: {_rule_literal(rule)}," for key, rule in table.items()]
        lines.append("}")
    return lines


def _rule_literal(rule: tuple[Any, Any]) -> str:
    weight, bias = rule
    if bias is not None:
        _check_literal(bias)
    if weight is not None:
        _check_literal(weight[0])
        for k, v in weight[1].items():
            _check_literal(k)
            _check_literal(v)
        args = ", ".join(f"{k!r}: {v!r}" for k, v in weight[1].items())
        weight = f"({weight[0]!r}, {{{args}}})"
    return f"({weight}, {bias!r})"


INDICES = "indices"  # the key of a max pool's second output among a forward's values


def _helpers() -> list[tuple[str, str]]:
    """The runtime pieces of the torch back end, copied verbatim so both compute the same thing; read
    from the text of `resdsl/backends/runtime.py` (not imported: generating code needs no torch)."""
    from importlib.resources import files

    text = files("resdsl.backends").joinpath("runtime.py").read_text(encoding="utf-8")
    sources = {node.name: ast.get_source_segment(text, node) for node in ast.parse(text).body
               if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    return [(name, sources[name]) for name in RUNTIME_PIECES] + [("Group", _GROUP_SOURCE)]


def _analyse(graph: Graph) -> list[Unit]:
    members: list[list[int]] = [[] for _ in graph.scopes]
    for node in graph.nodes:
        for scope in graph.scope_chain(node.scope):
            members[scope.id].append(node.id)
    users = graph.users
    ends = {graph.output} | {h.output for h in graph.heads}  # aux heads' outputs are outputs too
    units = []
    for scope, nodes in zip(graph.scopes, members):
        inside = set(nodes)
        inputs = sorted({i for n in nodes for i in graph.nodes[n].inputs if i not in inside})
        outputs = tuple(n for n in nodes if n in ends or any(u not in inside for u in users[n]))
        first = next((n for n in nodes if graph.nodes[n].op.is_layer), None)
        units.append(Unit(scope, nodes, tuple(inputs), outputs, first))
    return units


def _definition(d: Draft) -> str:
    call = d.unit.scope.call
    return call.block if call is not None else (d.unit.scope.block or "block")


def _marked(expr: Arg) -> tuple[str, list[int]]:
    """A constructor's text with its literal markers numbered away, and the slots they were."""
    return _marked_lines([fmt(expr, 0, float("inf"))])


def _marked_lines(lines: list[str]) -> tuple[str, list[int]]:
    text = "\n".join(lines)
    return _MARKER.sub("\x00#\x00", text), [int(m.group(1)) for m in _MARKER.finditer(text)]


def _progression(column: list[Any]) -> int | None:
    """The step of an arithmetic progression of whole numbers (0: constant), or None."""
    if all(type(v) is type(column[0]) and v == column[0] for v in column):
        return 0
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in column):
        return None
    step = column[1] - column[0]
    return step if all(b - a == step for a, b in zip(column, column[1:])) else None


def _relabel(arg: Arg, fn: Callable[[int], int]) -> Arg:
    """The same constructor with its literal markers renumbered."""
    if isinstance(arg, str):
        return _MARKER.sub(lambda m: f"\x00{fn(int(m.group(1)))}\x00", arg)
    if isinstance(arg, Pair):
        return Pair(arg.name, _relabel(arg.value, fn))
    return Expr(arg.callee, [(k, _relabel(v, fn)) for k, v in arg.args], arg.brackets, arg.defaults, arg.keys)


def _position(key: Any) -> tuple[str, int, int]:
    span = key[1]
    return span.file, span.line, span.column


def _union_entries(base: Draft, drafts: list[Draft]) -> Draft:
    """`base` with each unnamed `nn.Sequential` holding every entry any instance has (in the order of their
    calls in the spec: an `if`/`else` in the block's body gives entries no one instance has together),
    the entries taken from other instances bringing their literals along as new slots."""
    slots = list(base.slots)
    init = []
    for attr, expr in base.init:
        others = [e for d in drafts for a, e in d.init if a == attr]
        if expr.keys is None or any(e.keys is None or e.callee != "nn.Sequential" for e in others) or \
                all(e.keys == expr.keys for e in others) or len({_marked(e)[0] for e in others}) == 1:
            init.append((attr, expr))
            continue
        found: dict[Any, tuple[Draft, Arg]] = {}
        ordered = True
        for d in [base] + drafts:
            e = dict(d.init).get(attr)
            if e is None:
                continue
            positions = [_position(k) for k in e.keys]
            ordered &= positions == sorted(set(positions))
            for key, (_, entry) in zip(e.keys, e.args):
                found.setdefault(key, (d, entry))
        keys = sorted(found, key=_position)
        if not ordered or len({_position(k) for k in keys}) != len(keys):
            init.append((attr, expr))  # no one order for all: left to the comparison to refuse
            continue
        entries: list[tuple[str | None, Arg]] = []
        for key in keys:
            d, entry = found[key]
            if d is not base:
                def move(k: int, d: Draft = d) -> int:
                    slots.append(d.slots[k])
                    return len(slots) - 1
                entry = _relabel(entry, move)
            entries.append((None, entry))
        init.append((attr, Expr(expr.callee, entries, expr.brackets, expr.defaults, tuple(keys))))
    if len(slots) == len(base.slots):
        return base
    return Draft(base.unit, init, base.forward, base.params, slots, base.members)


def _match_entries(full: Expr, part: Expr) -> list[int] | None:
    """Where each entry of the `nn.Sequential` `part` is among `full`'s (same call in the spec, same code),
    or None: the instance's entries are the full one's with some left out."""
    if full.callee != "nn.Sequential" or part.callee != "nn.Sequential" or full.keys is None or part.keys is None:
        return None
    where: list[int] = []
    k = 0
    for key, (_, entry) in zip(part.keys, part.args):
        while k < len(full.keys) and full.keys[k] != key:
            k += 1
        if k == len(full.keys) or _marked(entry)[0] != _marked(full.args[k][1])[0]:
            return None
        where.append(k)
        k += 1
    return where


def _is_run_loop(statement: str) -> bool:
    """`for i in range(n):` over numbered blocks (`Generator.forward_body`): left out where it runs no times."""
    return statement.startswith("for i in range(") and "getattr(self, f\"" in statement


def _unaugment(statement: str) -> str:
    """`out += x` as `out = out + x` (where another instance adds a value it must not overwrite)."""
    m = re.fullmatch(r"(\w+) \+= (.*)", statement)
    return f"{m.group(1)} = {m.group(1)} + {m.group(2)}" if m else statement


def _replace_names(text: str, names: set[str], fn: Callable[[str], str]) -> str:
    if not names:
        return text
    return re.sub(r"(?<![\w.'\"])(" + "|".join(sorted(names)) + r")(?![\w'\"])", lambda m: fn(m.group(1)), text)


def _subsequence(items: list[str], of: list[str]) -> bool:
    it = iter(of)
    return all(any(x == y for y in it) for x in items)


def _python_value(value: Any) -> Any:
    """A size of the spec (`3x3`, recorded as text) as torch writes it (3; (1, 7))."""
    if isinstance(value, str) and re.fullmatch(r"\d+(?:x\d+)+", value):
        sides = tuple(int(v) for v in value.split("x"))
        return sides[0] if len(set(sides)) == 1 else sides
    return value


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _is_function(unit: Unit) -> bool:
    """Its nodes are consecutive (so calling it as one step keeps the order valid), it reads at least
    one value from outside and exactly one of its values is read outside."""
    nodes = unit.nodes
    return (bool(nodes) and nodes[-1] - nodes[0] + 1 == len(nodes) and len(unit.inputs) >= 1
            and len(unit.outputs) == 1)


def _heights(units: list[Unit]) -> dict[int, int]:
    """How many levels of classes lie below each scope: classes are finished lowest first."""
    height = {u.scope.id: 0 for u in units}
    for unit in reversed(units):
        parent = unit.scope.parent
        if parent is not None:
            extra = 1 if unit.kind == CLASS else 0
            height[parent] = max(height[parent], height[unit.scope.id] + extra)
    return height


def _module_attrs(d: Draft) -> set[str]:
    return {attr for attr, _ in d.init}


def _doc(text: str) -> str:
    """Docstring text from validated names only; anything else is dropped, never escaped."""
    return re.sub(r"[^\w .,:`()>=-]", "", text)


def _attr_name(name: str, path: str) -> str:
    """An attribute name, or a quoted string for a name only getattr/add_module can use (`"0"`,
    `"block1-0"`).  Which names are legal is `resdsl.ir.names`' rule, applied by check."""
    problem = label_problem(name)
    if problem is not None:  # check refuses these at the label; only a hand-made graph gets here
        raise NameResolutionError(f"{problem[0]} (layer {path})", None, problem[1])
    return name if is_attribute(name) else json.dumps(name)


def _identifier(hint: str) -> str:
    name = re.sub(r"\W", "_", hint).strip("_") or "value"
    if name[0].isdigit():
        name = "p" + name
    return name


def _unique(name: str, taken: set[str]) -> str:
    candidate, k = name, 2
    while candidate in taken or keyword.iskeyword(candidate):
        candidate, k = f"{name}_{k}", k + 1
    taken.add(candidate)
    return candidate


def _relation(column: tuple, params: dict[tuple, tuple[str, int]]) -> str | None:
    """`width * 4`, `in_channels // 4`, `in_channels + 12`: a whole-number column as a simple function
    of a parameter's column, so a block takes its widths once (DenseNet's layer k reads
    in_channels + (k-1) * growth)."""
    values = _ints(column)
    if values is None:
        return None
    for base, (name, _) in params.items():
        p = _ints(base)
        if p is None or 0 in p:
            continue
        for m in range(2, 65):
            if all(c == v * m for c, v in zip(values, p)):
                return f"{name} * {m}"
            if all(v == c * m for c, v in zip(values, p)):
                return f"{name} // {m}"
        d = values[0] - p[0]
        if all(c - v == d for c, v in zip(values, p)):
            return f"{name} + {d}" if d > 0 else f"{name} - {-d}"
    return None


def _ints(column: tuple) -> list[int] | None:
    return [v for _, v in column] if all(t is int for t, _ in column) else None


def _literal(value: Any) -> str:
    _check_literal(value)
    return f'"{value}"' if isinstance(value, str) else repr(value)  # option words: plain letters


def _short(p: tuple[int, int]) -> int | tuple[int, int]:
    return p[0] if p[0] == p[1] else p


def generate(net: Network, family: str | None = None, members: Sequence[Network] = ()) -> str:
    """The network as the source of one Python module that needs only torch.  With `family` (a parameter of
    the network) and `members` (the network for other values of it, `family_members`), the network class
    takes that parameter where the members' code differs only in numbers that are expressions of it."""
    return Generator(net, family, members).run()


def family_members(net: Network, name: str, load: Callable[[int], Network]) -> list[Network]:
    """Two more members of the network, `name` stepped up twice by the smallest step (1 to 12) that the
    spec accepts both times (a CIFAR ResNet's depth 6n+2: 26 and 32 for 20); [] when there are none.
    `load(value)` loads the network with `name=value`."""
    from resdsl.diagnostics import ResdslError

    value = dict(net.parameters).get(name)
    if type(value) is not int:
        return []
    for step in range(1, 13):
        try:
            return [load(value + step), load(value + 2 * step)]
        except ResdslError:
            continue
    return []


def _linear(column: list[Any], values: list[int], name: str) -> str | None:
    """`(depth - 2) // 6`, `4 * k`, `depth`: a whole number of each member as one expression of the
    parameter's value in it (exact in every member)."""
    if not all(type(v) is int for v in column) or column[1] == column[0]:
        return None
    dv, dp = column[1] - column[0], values[1] - values[0]
    if dv > 0 and dp % dv == 0:  # v = (p - c) // a
        a = dp // dv
        c = values[0] - a * column[0]
        if all((p - c) % a == 0 and (p - c) // a == v for p, v in zip(values, column)):
            shifted = name if c == 0 else f"{name} - {c}" if c > 0 else f"{name} + {-c}"
            return shifted if a == 1 else f"({shifted}) // {a}" if c else f"{name} // {a}"
    if dv % dp == 0:  # v = m * p + c
        m = dv // dp
        c = column[0] - m * values[0]
        if m > 0 and all(m * p + c == v for p, v in zip(values, column)):
            scaled = name if m == 1 else f"{m} * {name}"
            return scaled if c == 0 else f"{scaled} + {c}" if c > 0 else f"{scaled} - {-c}"
    return None


def _undocumented(source: str) -> str:
    """A class's source without its docstring (which names this member's instances)."""
    return re.sub(r'^    """.*?"""\n', "", source, count=1, flags=re.S | re.M)


def load_source(source: str) -> type:
    """The network class of generated code (first in its `__all__`), executed in a fresh module."""
    import types

    module = types.ModuleType("resdsl_generated")
    exec(compile(source, "<resdsl generated>", "exec"), module.__dict__)
    return module.__dict__[module.__all__[0]]
