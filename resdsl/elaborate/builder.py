"""The mutable workbench the elaborator fills: nodes, scopes and the naming rules; frozen at the end.

Naming follows torch's own rules so that module paths equal torchvision's: a labelled item takes its
label; an unlabelled layer or block takes its position among the layers of its scope (as in
`nn.Sequential`); merges and other functional ops take a display name (`add`, `add_1`) that is not a
module.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from resdsl import limits
from resdsl.ir.shapes import ShapeProblem
from resdsl.diagnostics import LimitError, NameResolutionError, SourceSpan
from resdsl.elaborate.values import TensorRef, new_ref, value_types
from resdsl.ir import ops
from resdsl.ir.graph import NODE_SLOTS, BlockCall, Graph, Node, Scope, new_node, new_object, new_scope
from resdsl.ir.heads import AuxHead, OutputOrder
from resdsl.ir.types import TensorType


class _ScopeState:
    """A scope being filled: the names its children took so far.

    The name tables are made on the first name and dropped when the scope is closed: one state is made
    per block instance, and a replayed block's scopes never take a name here (for a network of distinct
    blocks the tables of closed scopes were a quarter of the peak memory)."""

    # A plain slotted class, not a dataclass with default factories: one is made per block instance.
    __slots__ = ("scope", "next_index", "names", "functional", "display_only")

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.next_index = 0
        self.names: dict[str, SourceSpan] = _NO_NAMES      # replaced by its own dict on the first name
        self.functional: dict[str, int] | None = None      # functional ops per kind, for add, add_1, ...
        self.display_only: set[str] | None = None          # names of functional nodes: no module, no label


_NO_NAMES: dict[str, SourceSpan] = {}  # shared and never written: claim() gives a scope its own first


class GraphBuilder:
    def __init__(self, network: str, span: SourceSpan):
        self.nodes: list[Node] = []
        self.scopes: list[_ScopeState] = []
        self.network = network
        # Equal tensor types and ops are shared, not one per node: a network has few distinct shapes and
        # ops, and an op with its fields' __dict__ was most of a node's memory.  Ops are keyed with the
        # types of their fields' values, since dataclass equality says Dropout(1) == Dropout(1.0) and the
        # code generators print both.
        self._types: dict[tuple[int, ...], TensorType] = {}  # by shape: a tuple hashes faster
        self._ops: dict[tuple, ops.Op] = {}
        self._shared_ops: set[int] = set()  # ids of the ops in _ops
        self._inferred: dict[tuple[int, ...], TensorType] = {}  # (op, input types) -> output type, by id
        self.new_scope(None, "", "network", None, "", span, claim=False)

    # ---- scopes --------------------------------------------------------------------------------

    def new_scope(self, parent: int | None, label: str | None, kind: str, block: str | None, stage: str,
                  span: SourceSpan, claim: bool = True, call: BlockCall | None = None) -> int:
        name = self.claim(parent, label, True, span) if claim and parent is not None else (label or "")
        parent_path = self.scopes[parent].scope.path if parent is not None else ""
        path = f"{parent_path}.{name}" if parent_path else name
        scope_id = len(self.scopes)
        self.scopes.append(_ScopeState(new_scope(scope_id, parent, name, path, kind, block, stage, span, call)))
        return scope_id

    def claim(self, scope_id: int, label: str | None, is_module: bool, span: SourceSpan,
              kind: str = "op") -> str:
        """Pick the name of a new child of `scope_id`, refusing duplicates."""
        state = self.scopes[scope_id]
        names = state.names
        if names is _NO_NAMES:
            names = state.names = {}
        elif names is None:
            raise AssertionError(f"scope {state.scope.path or self.network} was closed; nothing may join it")
        if label is not None:
            if state.display_only and label in state.display_only:  # `input:` after the input, `add:` after an add
                state.display_only.discard(label)
            elif label in names:
                where = state.scope.path or self.network
                raise NameResolutionError(
                    f"duplicate name '{label}' in {where}", span, "give each item of a scope its own label",
                    notes=[(names[label], f"'{label}' is first used here")])
            names[label] = span
            if is_module:
                state.next_index += 1
            return label
        if is_module:
            name = str(state.next_index)
            state.next_index += 1
            names[name] = span
            return name
        if state.functional is None:
            state.functional, state.display_only = {}, set()
        count = state.functional.get(kind, 0)
        state.functional[kind] = count + 1
        name = kind if count == 0 else f"{kind}_{count}"
        while name in names:
            count += 1
            name = f"{kind}_{count}"
        names[name] = span
        state.display_only.add(name)
        return name

    def close_scope(self, scope_id: int) -> None:
        """The scope's body is done: drop its name tables (its `Scope` stays, the graph's)."""
        state = self.scopes[scope_id]
        state.names = state.functional = state.display_only = None

    def taken(self, scope_id: int, name: str) -> bool:
        """Has a child of the (open) scope taken this name?"""
        return name in self.scopes[scope_id].names

    def share(self, op: ops.Op) -> ops.Op:
        """The builder's one copy of `op` (see `_ops`)."""
        if id(op) in self._shared_ops:
            return op
        op = self._ops.setdefault(_op_key(op), op)
        self._shared_ops.add(id(op))
        return op

    def scope_path(self, scope_id: int) -> str:
        return self.scopes[scope_id].scope.path

    # ---- nodes ---------------------------------------------------------------------------------

    def add(self, op: ops.Op, inputs: list[TensorRef], scope_id: int, label: str | None, stage: str,
            span: SourceSpan) -> TensorRef:
        """Add a node; the shape rule runs here so every value has its type as soon as it exists."""
        nodes = self.nodes
        node_id = len(nodes)
        if node_id >= limits.MAX_NODES:
            raise LimitError(f"the network grows past {limits.MAX_NODES:,} ops", span,
                             "reduce the repeats; resdsl refuses graphs this large")
        if id(op) not in self._shared_ops:  # (a live object's id is never reused)
            op = self.share(op)
        # The shape rule, once per op and input types (both shared, so compared by identity).
        if len(inputs) == 1:  # most ops
            ids = (inputs[0].node,)
            key = (id(op), id(inputs[0].type))
        else:
            ids = tuple([t.node for t in inputs])
            key = (id(op), *[id(t.type) for t in inputs])
        shared = self._inferred.get(key)
        if shared is None:
            out_type = op.infer([t.type for t in inputs])  # may raise ShapeProblem
            shared = self._types.get(out_type.shape)
            if shared is None:  # a type not seen before: within the size limits?
                _check_size(out_type, span)
                shared = self._types[out_type.shape] = out_type
            self._inferred[key] = shared
        name = self.claim(scope_id, label, op.is_layer, span, op.kind)
        parent = self.scopes[scope_id].scope.path
        nodes.append(new_node(node_id, op, ids, shared, name, f"{parent}.{name}" if parent else name, scope_id,
                              stage, span))
        return new_ref(node_id, shared)

    # ---- templates: replaying a block expansion instead of elaborating it again ------------------

    def mark(self) -> tuple[int, int]:
        return (len(self.nodes), len(self.scopes))

    def template(self, mark: tuple[int, int], root: int, block_input: TensorRef, output: TensorRef,
                 record: tuple) -> "LazyTemplate":
        """The nodes and scopes made since `mark` under scope `root`, relative to the block's input, so an
        identical call (same block, arguments, input type and stage) can be replayed.  Captured when
        first replayed: in a spec of distinct blocks most never are, and capturing costs about what
        expanding does.  (Nodes and scopes are only ever appended, so the range stays as it was.)"""
        return LazyTemplate((mark, self.mark(), root, block_input, output), record)

    def _capture(self, mark: tuple[int, int], end: tuple[int, int], root: int, block_input: TensorRef,
                 output: TensorRef) -> "Template":
        first_node, first_scope = mark
        end_node, end_scope = end
        root_path = self.scopes[root].scope.path
        assert first_scope == root, "a template's root is the first scope made after the mark"
        scopes = tuple((s.scope.parent - root - 1, s.scope.name, s.scope.path[len(root_path):], s.scope.kind,
                        s.scope.block, s.scope.span, s.scope.call)
                       for s in self.scopes[root + 1:end_scope])
        nodes = []
        for node in self.nodes[first_node:end_node]:
            inputs = tuple(-1 if i == block_input.node else (i - first_node if i >= first_node else -2 - i)
                           for i in node.inputs)
            nodes.append((node.op, inputs, inputs[0] if len(inputs) == 1 else None, node.type, node.name,
                          node.path[len(root_path):], node.scope - first_scope, node.span))
        out = -1 if output.node == block_input.node else output.node - first_node
        return Template(self.scopes[root].scope.kind, self.scopes[root].scope.block,
                        self.scopes[root].scope.span, tuple(scopes), tuple(nodes), out)

    def replay(self, lazy: "LazyTemplate", parent: int, label: str | None, flow: TensorRef,
               stage: str, call_span: SourceSpan, call: BlockCall | None = None) -> tuple[TensorRef, list[int]]:
        template = lazy.captured(self)
        if len(self.nodes) + len(template.nodes) > limits.MAX_NODES:
            raise LimitError(f"the network grows past {limits.MAX_NODES:,} ops", template.span,
                             "reduce the repeats; resdsl refuses graphs this large")
        root = self.new_scope(parent, label, template.kind, template.block, stage, call_span, call=call)
        root_path = self.scopes[root].scope.path
        scope_ids = [root]
        scopes = self.scopes
        for parent_rel, name, suffix, kind, block, span, inner_call in template.scopes:
            sid = len(scopes)
            scopes.append(_ScopeState(new_scope(sid, scope_ids[parent_rel + 1], name, root_path + suffix, kind,
                                                block, stage, span, inner_call)))
            scope_ids.append(sid)
        first = len(self.nodes)
        new_nodes = self.nodes
        append = new_nodes.append
        source = flow.node
        node_id = first
        # The per-node work of a replay, which a 100,000-block spec does 700,000 times: mostly a single
        # input; `new_node` inlined (its slot setters, see resdsl/ir/graph.py).
        s_id, s_op, s_inputs, s_type, s_name, s_path, s_scope, s_stage, s_span = NODE_SLOTS
        for op, inputs, single, out_type, name, suffix, scope_rel, span in template.nodes:
            if single is not None:
                ids = (first + single,) if single >= 0 else ((source,) if single == -1 else (-2 - single,))
            else:
                ids = tuple([source if i == -1 else (first + i if i >= 0 else -2 - i) for i in inputs])
            node = new_object(Node)
            s_id(node, node_id)
            s_op(node, op)
            s_inputs(node, ids)
            s_type(node, out_type)
            s_name(node, name)
            s_path(node, root_path + suffix)
            s_scope(node, scope_ids[scope_rel])
            s_stage(node, stage)
            s_span(node, span)
            append(node)
            node_id += 1
        out = flow if template.output == -1 else TensorRef(first + template.output,
                                                           new_nodes[first + template.output].type)
        return out, [first + i for i in template.drop_paths]

    def freeze(self, output: TensorRef, heads: tuple[AuxHead, ...] = (), order: OutputOrder | None = None) -> Graph:
        return Graph(self.network, tuple(self.nodes), tuple(s.scope for s in self.scopes), output.node, heads, order)


class LazyTemplate:
    """A block expansion that may be replayed: its range of the builder, captured on first use."""

    __slots__ = ("_range", "_template", "record")

    def __init__(self, captured_range: tuple, record: tuple) -> None:
        self._range = captured_range
        self._template: Template | None = None
        self.record = record  # (the call's arguments, as written; the BlockCall they made)

    def captured(self, builder: GraphBuilder) -> "Template":
        if self._template is None:
            self._template = builder._capture(*self._range)
            self._range = None
        return self._template


@dataclass(frozen=True)
class Template:
    kind: str
    block: str | None
    span: SourceSpan
    scopes: tuple  # (parent index relative to the root (-1 = root), name, path suffix, kind, block, span, call)
    # (op, inputs (-1 block input, >=0 relative, <=-2 absolute), the one input or None, type, name, suffix,
    #  scope, span)
    nodes: tuple
    output: int

    @cached_property
    def drop_paths(self) -> tuple[int, ...]:
        return tuple(i for i, n in enumerate(self.nodes) if isinstance(n[0], ops.DropPath))


def _op_key(op: ops.Op) -> tuple:
    """Equal only for ops the back ends cannot tell apart: equal fields of the same types (a tuple's items
    too, nested: `(2, 2)` is not `(2.0, 2.0)`, nor `(("slope", 1),)` `(("slope", 1.0),)`)."""
    values = [getattr(op, name) for name in op.__dataclass_fields__]
    return (type(op), *values, *map(value_types, values))


def _check_size(t, span: SourceSpan) -> None:
    if t.channels > limits.MAX_CHANNELS:
        raise LimitError(f"a tensor with {t.channels:,} channels is past the limit of {limits.MAX_CHANNELS:,}",
                         span, "check the widths and the expansion factors")
    if t.height > limits.MAX_SPATIAL or t.width > limits.MAX_SPATIAL:
        raise LimitError(f"a {t.height}x{t.width} map is past the limit of {limits.MAX_SPATIAL:,} per side", span)
    if t.numel > limits.MAX_ELEMENTS:
        raise LimitError(f"a tensor of {t.numel:,} elements is past the limit of {limits.MAX_ELEMENTS:,}", span)


__all__ = ["GraphBuilder", "ShapeProblem"]
