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

Only identifiers that pass `attr_name` and literals (ints, floats, bools, tuples) rendered by `repr`
reach the generated text; nothing is copied from the spec's source.
"""
from __future__ import annotations

import json
import keyword
import re
import textwrap
from typing import Any, Callable, Sequence

from resdsl.backends.lowering import Lowered, ParameterInit, lower, passes_indices
from resdsl.backends import pycode_guards as guards
from resdsl.backends.pycode_columns import linear, progression_step, same_width, width_relation
from resdsl.backends.pycode_drafts import (
    definition_name, Draft, Instance, match_entries, module_attrs, Run, union_entries)
from resdsl.backends.pycode_format import Arg, Expr, fmt, LINE_WIDTH, map_leaves, NAMED_SEQUENTIAL, Pair, REPEAT
from resdsl.backends.pycode_init import init_tables
from resdsl.backends.pycode_literals import (
    check_literal, is_plain, marked_expr, marked_lines, MARKER, NO_DEFAULT, python_value, Recorder, render_literal,
    show_value, Slot)
from resdsl.backends.pycode_names import attr_name, doc_text, identifier, replace_names, unique
from resdsl.backends.pycode_ops import FUNCTION_LAYER_CODE, FUNCTIONAL_CODE, PARAMETER_CODE
from resdsl.backends.pycode_runtime import runtime_helpers
from resdsl.backends.pycode_scopes import (
    analyse, CLASS, class_heights, GROUP, INLINE, is_function, ROOT, SEQUENTIAL, Unit)
from resdsl.backends.pycode_statements import (
    grouped_origins, is_run_loop, is_subsequence, TRAINING, training_blocks, unaugment, undocumented)
from resdsl.backends.pycode_family import CHANNEL_FIELDS, Step, align, condition, fit, group_lines, target_and_source
from resdsl.ir.names import class_name
from resdsl.ir import ops
from resdsl.ir.graph import Graph
from resdsl.network import Network

__all__ = ["generate", "load_source", "class_name"]


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
        self.units = analyse(self.graph)
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
            elif not is_function(unit) or passes_indices(self.graph, unit.nodes, unit.inputs, unit.outputs):
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
        if not (index_in or index_out) or not is_function(stripped) or outputs[0] in graph.indexed_pools:
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
                (p if keyword else None, rec.lit(v, f"{prefix}{p}", field=p, default=inst.defaults.get(p, NO_DEFAULT),
                                                 width=p in inst.widths,
                                                 origin=(unit.scope.span, p, call.definition) if p in spec_params
                                                 else None))
                for p, v, keyword in inst.args]
            args += [(attr, self.ctor(member, rec, f"{prefix}{attr}_")) for attr, member in inst.optional]
            return Expr(inst.cls, args, defaults={p: render_literal(v) for p, v in inst.defaults.items()})
        if unit.kind == SEQUENTIAL:
            items = self.items(i)
            if [self.local_name(m) for m in items] == [str(k) for k in range(len(items))]:
                entries = self.repeated(items, rec, prefix)
                return Expr("nn.Sequential", entries, keys=tuple(self._entry_keys(items)))
            entries = [(self.local_name(m), self.ctor(m, rec, f"{prefix}{self.local_name(m)}_")) for m in items]
            self.used["OrderedDict"] = True
            return Expr(NAMED_SEQUENTIAL, [(None, Pair(n, e)) for n, e in entries], brackets=("([", "]))"))
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
        stem = "_".join([identifier(first), *rest])
        return {f"{stem}_out_features", f"{stem}_out_channels"}

    def aux_classifier_slots(self, draft: Draft) -> set[int]:
        """The slots of an aux head's constructor that give its classifier's width where the head is as
        wide as the main output (Inception-v3's `InceptionAux(768, num_classes)`), so that `num_classes`
        changes the heads with the main classifier, as torchvision's constructors do."""
        width = self.graph.nodes[self.graph.output].type
        if len(width.shape) != 1:
            return set()
        prefixes = tuple(f"{identifier(h.name)}_" for h in self.graph.heads
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
                ctor = Expr(REPEAT, [(None, ctor), (None, count)])
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
            default = omitted[name] if name in omitted else NO_DEFAULT
            args.append((None if k < call.positional else name,
                         rec.lit(value, f"{prefix}{name}", field=name, default=default)))
        return Expr(call.callee, args, defaults={n: render_literal(v) for n, v in omitted.items()})

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
            attr = attr_name(local, self._path_of(member))
            init.append((attr, self.ctor(member, rec, identifier(local) + "_")))
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
            name = attr_name(part, path)
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
                        got.append(self.fresh(live, identifier(self.graph.nodes[p].path) + "_indices"))
                        names[(INDICES, p)] = got[-1]
                        live.add(got[-1])
                    lines.append(f"{target}, {', '.join(got)} = {expr}")
                elif item[0] == "node" and out in self.graph.indexed_pools:  # (values, indices)
                    live.add(target)
                    where = self.graph.nodes[out].path
                    inside = unit.scope.path
                    where = where[len(inside) + 1:] if inside and where.startswith(inside + ".") else where
                    indices = self.fresh(live, identifier(where) + "_indices")
                    names[(INDICES, out)] = indices
                    live.add(indices)
                    lines.append(f"{target}, {indices} = {expr}")
                else:
                    lines.append(f"{target} = {expr}")
            if order is not None and owner[self.item_io(item)[1]] >= 0:  # an aux head: training only
                lines[-1] = TRAINING + lines[-1]
            names[out] = target
            if out in uses:
                live.add(target)
        if order is not None:
            self.used["namedtuple"] = True
            values = {None: names[output], **{f.head: names[self.graph.head_named(f.head).output]
                                              for f in order.fields if f.head is not None}}
            lines.append(TRAINING + f"return {order.type_name}({', '.join(values[f.head] for f in order.fields)})")
        returned = [names[output]] + ([names[(INDICES, p)] for p in unit.index_out] if sid != 0 else [])
        lines.append(f"return {', '.join(returned)}")
        origins += [None] * (len(lines) - len(origins))
        self.origins[sid] = origins[:len(lines)]
        return training_blocks(lines), [names[i] for i in params]

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
        return all(progression_step(col) is not None for col in columns)

    def run_ctor(self, run: "Run", rec: Recorder) -> Expr:
        """`for i in range(COUNT): self.add_module(f"prefix{i + 1}", Block(START + i * STEP, ...))`."""
        first = self.instances[run.units[0]]
        args: list[tuple[str | None, Arg]] = []
        for k, (name, value, kw) in enumerate(first.args):
            column = [self.instances[c].args[k][1] for c in run.units]
            step = progression_step(column)
            text = rec.lit(value, name, field=name, default=first.defaults.get(name, NO_DEFAULT),
                           width=name in first.widths)
            if step:
                text = f"{text} + i * {rec.lit(step, f'{name}_step', field=name)}"
            args.append((name if kw else None, text))
        count = rec.lit(len(run.units), "count", field="count")
        defaults = {p: render_literal(v) for p, v in first.defaults.items()}
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
            families.setdefault(definition_name(d), []).append(d)
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
        taken = set(self.reserved) | self.class_names | module_attrs(first)
        in_forward = {columns[k] for k in range(len(columns)) if first.slots[k].forward}
        params: dict[tuple, tuple[str, int]] = {}  # varying column -> (parameter, first slot)
        derived: dict[tuple, str] = {}             # varying column -> expression of a parameter
        for k, column in enumerate(columns):
            if len(set(column)) == 1 or column in params or column in derived:
                continue
            hint = next((n for n, vec in semantic if vec == column), None)
            relation = None if hint or column in in_forward else width_relation(column, params)
            if relation:
                derived[column] = relation
            else:
                params[column] = (unique(identifier(hint or first.slots[k].hint), taken), k)
        texts = {}
        for k, column in enumerate(columns):
            if column in params:
                param = params[column][0]
                texts[k] = f"self.{param}" if first.slots[k].forward else param
            else:
                texts[k] = derived.get(column) or render_literal(column[0][1])
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
        sub = lambda line: MARKER.sub(lambda m: texts[int(m.group(1))], line)  # noqa: E731
        text = textwrap.fill(doc_text(doc), LINE_WIDTH - 7, initial_indent="    ", subsequent_indent="    ")
        lines = [f"class {name}(nn.Module):",
                 f'    """{text[4:]}"""',
                 "",
                 "    " + fmt(Expr("def __init__", [(None, "self")] + [(None, p) for p in signature]), 4) + ":",
                 "        super().__init__()"]
        lines += [f"        self.{p} = {p}" if isinstance(p, str) else f"        self.{p[0]} = {p[1]}" for p in stored]
        for attr, expr in draft.init:
            if attr[0] == "\x01":  # a run of block instances: `for i in range(n): self.add_module(...)`
                count, ctor = (map_leaves(v, sub) for _, v in expr.args)
                name = attr[1:]
                lines += [f"        for i in range({count}):",
                          f'            self.add_module(f"{name}", {fmt(ctor, 12, lead=len(name) + 35)})']
                continue
            if attr in optional:
                lines.append(f"        self.{attr} = {attr}")
                continue
            if built and attr in built:  # made where the spec's condition holds, else None
                end = f" if {built[attr]} else None"
                lines.append(f"        self.{attr} = {fmt(map_leaves(expr, sub), 8, lead=len(attr) + 12 + len(end))}{end}")
                continue
            if entry_guards and attr in entry_guards:  # some entries only where a condition holds
                listed = unique("layers", set(taken or ()) | set(signature))
                lines.append(f"        {listed}: list[nn.Module] = []")
                previous = None
                for k, (_, entry) in enumerate(expr.args):
                    guard = entry_guards[attr].get(k)
                    text = fmt(map_leaves(entry, sub), 12 if guard else 8, lead=len(listed) + 8)
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
            lines.append(f"        {start}{fmt(map_leaves(expr, sub), 8, lead=len(start) + len(end))}{end}")
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
        base = union_entries(base, drafts)
        attrs = [a for a, _ in base.init]
        init_of = dict(base.init)
        pieces = {a: marked_expr(e) for a, e in base.init}
        full = group_lines(base.forward)
        full_origins = [grouped_origins(base.forward, self.origins.get(base.unit.scope.id))]
        # Instances whose forward is not the fullest one with parts left out (ShuffleNet's stride-1 unit splits
        # its input where the stride-2 one has a second branch) form a second group with a forward of its own.
        against_full = [align(full, base.params, group_lines(d.forward), d.params) for d in drafts]
        other = [d for d, a in zip(drafts, against_full) if a is None]
        fulls = [full]
        if other:
            second = max(other, key=lambda d: len(d.forward))
            offset = len(base.slots)
            fulls.append(group_lines([MARKER.sub(lambda m: f"\x00{int(m.group(1)) + offset}\x00", line)
                                      for line in second.forward]))
            full_origins.append(grouped_origins(second.forward, self.origins.get(second.unit.scope.id)))
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
            if not is_subsequence(mine, attrs):
                return self.refuse(block, f"{path}: members {mine} not a subsequence of {attrs}")
            mapping: dict[int, int] = {}
            for a, e in d.init:
                text, ids = marked_expr(e)
                if text == pieces[a][0]:
                    mapping.update(zip(pieces[a][1], ids))
                    continue
                where = match_entries(init_of[a], e)
                if where is None:
                    return self.refuse(block, f"{path}: member {a}: {text!r} vs {pieces[a][0]!r}")
                for b_index, (_, entry) in zip(where, e.args):
                    mapping.update(zip(marked_expr(init_of[a].args[b_index][1])[1], marked_expr(entry)[1]))
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
                if step.kind == "drop" and is_run_loop(fulls[group][k]):
                    zero.setdefault(marked_lines([fulls[group][k]])[1][0], set()).add(j)
                used = set(re.findall(r"\bself\.(\w+)", fulls[group][k]))
                if used & set(missing) and step.kind != "drop":
                    return self.refuse(block, f"{path}: {fulls[group][k]!r} uses a member it lacks")
                if step.kind == "match":
                    mapping.update(zip(marked_lines([fulls[group][k]])[1],
                                       marked_lines([mine_lines[step.other]])[1]))
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
                kept_as[param] = unique(f"{param}_", taken) if param in attrs else param
            return kept_as[param]

        plain: dict[int, str] = {}  # a slot's expression with the parameters bare (`width`, not `self.width`)
        spec_widths: list[tuple[str, Any, Any]] = []  # the spec's argument expressions read so far: (text, tree, reader)
        for k in sorted(range(len(base.slots)), key=lambda k: base.slots[k].field != "count"):  # counts first
            slot = base.slots[k]
            if k in skipped:
                continue
            there = [j for j, m in enumerate(maps) if k in m or j in zero.get(k, ())]
            if not there:  # only in statements no other instance has: the base's literal
                texts[k] = render_literal(slot.value)
                continue
            values = tuple(drafts[j].slots[maps[j][k]].value if k in maps[j] else 0 for j in there)
            some = [(n, tuple(c[j] for j in there)) for n, c in bases]
            typed = tuple((type(v), v) for v in values)
            read = self.spec_argument(block, drafts, there, values, slot, bases) if slot.origin else None
            if read is None and slot.has_default and set(typed) == {(type(slot.default), slot.default)}:
                texts[k] = render_literal(values[0])  # torch's default everywhere: left out (unless the spec writes it)
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
                    expr = same_width(spec_widths, there, values, bases) or expr
                elif expr is not None and slot.field in ("out_channels", "out_features"):
                    try:
                        spec_widths.append((expr, guards.from_python(expr), None))
                    except guards.Unreadable:
                        pass
            if expr is not None and slot.field == "count":
                counted.update(set(re.findall(r"[A-Za-z_]\w*", expr)) & names)
            if expr is None and len(set(typed)) == 1:
                texts[k] = render_literal(values[0])
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
                    extras[key] = unique(identifier(slot.hint), taken)
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
                expr = replace_names(expr, used, lambda x: f"self.{kept(x)}")
            texts[k] = expr
        # the parts some instances lack: under conditions on the parameters
        presence = [(a, tuple(a in [x for x, _ in d.init] for d in drafts)) for a in attrs
                    if a in optional or a in built]

        def flag(hint: str, truth: tuple[bool, ...]) -> str:
            name = unique(f"use_{identifier(hint)}", taken)
            extra_values[name] = truth
            return name

        def spec(truth: Sequence[bool], members: list[int], origin: tuple[Any, str] | None,
                 what: str, statement: str = "") -> tuple[str, set[str]] | None:
            """The spec's own condition for a part made at `origin`, checked on the instances `members`.  An
            option-A shortcut's zero padding is there where the body changes the shape: its own stride and
            width (the statement's slots) against the block's, `stride != 1 or width != in_channels`."""
            changes = None
            if origin is not None and origin[1] == "ZeroPadShortcut" and statement:
                ids = marked_lines([statement])[1]
                try:
                    width, stride = (guards.from_python(plain[k]) for k in ids) if len(ids) == 2 else (None, None)
                    if width is not None:
                        changes = ("or", ("bin", "!=", stride, ("const", 1)), ("bin", "!=", width, ("var", "in_channels")))
                except (guards.Unreadable, KeyError):
                    changes = None
            return self.spec_condition(block, [drafts[j] for j in members], truth, origin, bases,
                                       MARKER.sub("#", what), referenced, changes)

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
                text = unaugment(statement) if relax else statement
                if all(c.kind == "match" or is_run_loop(statement) for c in column):  # a loop may run 0 times
                    lines += text.split("\n")
                    continue
                variants: dict[str, list[bool]] = {text: [c.kind == "match" for c in column]}
                for j, c in zip(members, column):
                    if c.kind == "alt":
                        alt = MARKER.sub(lambda m: render_literal(drafts[j].slots[int(m.group(1))].value), c.text)
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
                        alt = MARKER.sub(lambda m: render_literal(drafts[j].slots[int(m.group(1))].value), c.text)
                        mine_origins = grouped_origins(drafts[j].forward, self.origins.get(drafts[j].unit.scope.id))
                        origin_of.setdefault(alt, mine_origins[c.other] if c.other < len(mine_origins) else None)
                for n, (variant, truth) in enumerate(variants.items()):
                    cond = None
                    if not mentions:  # (an optional member's own call keeps `self.downsample is not None`)
                        found = spec(truth, members, origin_of.get(variant),
                                     repr(MARKER.sub("#", variant.splitlines()[0])),
                                     statement if variant == text else "")
                        if found is not None:
                            referenced.update(found[1])
                            stored.update(found[1])
                            cond = replace_names(found[0], found[1], lambda x: f"self.{kept(x)}")
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
            return replace_names(cond, used, lambda x: f"self.{kept(x)}")

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
                cond = replace_names(cond[0], cond[1], lambda x: f"self.{kept(x)}")
            else:
                cond = guard([g == 0 for g in group_of], list(range(len(drafts))), bases, presence, False, False,
                             "", [])
            # the statements both end with (`x = channel_shuffle(x, 2)`, `return x`) once, after the if/else
            resolve = lambda line: MARKER.sub(lambda m: texts.get(int(m.group(1)), "?"), line)  # noqa: E731
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
                    check_literal(value)
                except TypeError:
                    continue
                defaults[n] = value
        for n in spec:
            for v in columns[n]:
                try:
                    check_literal(v)
                except TypeError:
                    return self.refuse(block, f"parameter {n} takes {v!r}, which cannot be written")
        required = (["in_channels"] if "in_channels" in referenced else []) + [n for n in spec if n not in defaults]
        signature = required + list(extra_values) + [f"{n}={render_literal(defaults[n])}"
                                                     for n in spec if n in defaults]
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
        fixed = [f"{n}={show_value(v)}" for n, v in (calls[0].args if calls[0] else ())
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
                self.fitted.setdefault(block, []).append(f"{MARKER.sub('#', what)}: {err}")
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
                out.append((name, tuple(python_value(c.value(n)) for c in calls)))
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
        heights = class_heights(self.units)
        classes = [u.scope.id for u in self.units if u.kind == CLASS]
        for level in sorted({heights[s] for s in classes}):
            self.finish([self.draft(s) for s in classes if heights[s] == level])
        d = self.draft(0)
        texts = {k: render_literal(slot.value) for k, slot in enumerate(d.slots)}
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
                signature.insert(0, f"{self.family}={render_literal(parameters[self.family])}")
        doc = f"{self.net.title}: input {self.net.input_type} -> output {self.net.output_type}."
        if taken:
            sampled = [parameters[taken]] + [dict(m.parameters)[taken] for m in self.family_members]
            values = ", ".join(str(v) for v in sampled)
            doc += (f" Any `{taken}` the spec allows (its numbers are expressions of it, read from the members"
                    f" {taken}={values}).")
        fixed = [f"{n}={show_value(v)}" for n, v in self.net.parameters
                 if not (n == classes and signature) and n != taken and is_plain(v)]
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
        mine = [undocumented(c) for c in self.classes]
        for member in self.family_members:
            g = Generator(member)
            g.repeat_singles = True
            g.run()
            if [undocumented(c) for c in g.classes] != mine:
                return refuse(f"the block classes of {member.title} differ")
            if member.init.runtime_tables() != self.net.init.runtime_tables():
                return refuse(f"the init rules of {member.title} name other paths")
            od = g.root_draft
            if [(a, marked_expr(e)[0]) for a, e in od.init] != [(a, marked_expr(e)[0]) for a, e in d.init] or \
                    marked_lines(od.forward)[0] != marked_lines(d.forward)[0] or len(od.slots) != len(d.slots):
                return refuse(f"the network class of {member.title} differs in more than numbers")
            values.append(dict(member.parameters)[name])
            others.append(od)
        out: dict[int, str] = {}
        for k, slot in enumerate(d.slots):
            column = [slot.value] + [od.slots[k].value for od in others]
            if len({(type(v), v) for v in column}) == 1:
                continue
            expr = linear(column, values, name)
            if expr is None or slot.forward or texts[k] == "num_classes":
                return refuse(f"{slot.hint} ({column}) is no expression of {name} ({values})")
            out[k] = expr
        return out

    def assemble(self) -> str:
        from resdsl import __version__

        net = self.net
        name = self.network_class_name
        title = doc_text(net.title)  # validated names and shown values; filtered again since it lands inside strings
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
            head += ["", *init_tables(net)]
        parts = []
        for helper, source in runtime_helpers():
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


INDICES = "indices"  # the key of a max pool's second output among a forward's values


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


def load_source(source: str) -> type:
    """The network class of generated code (first in its `__all__`), executed in a fresh module."""
    import types

    module = types.ModuleType("resdsl_generated")
    exec(compile(source, "<resdsl generated>", "exec"), module.__dict__)
    return module.__dict__[module.__all__[0]]
