"""The IR graph: primitive op nodes in topological order, each with its inferred type, grouped in
scopes network -> stage -> block -> op, each with a stable module path (`layer3.5.conv2`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from resdsl.diagnostics import SourceSpan
from resdsl.ir.heads import AuxHead, OutputOrder
from resdsl.ir.ops import Op
from resdsl.ir.types import TensorType


# slots: a large network has hundreds of thousands of nodes, and a __dict__ each was most of their memory.
@dataclass(frozen=True, slots=True)
class Scope:
    """A named container: the network itself, a stage, a block instance or a labelled group."""

    id: int
    parent: int | None
    name: str
    path: str          # dotted module path ('' for the network)
    kind: str          # "network" | "stage" | "block" | "group"
    block: str | None  # the block definition instantiated here ("bottleneck"), if any
    stage: str         # the stage this scope reports under
    span: SourceSpan
    call: BlockCall | None = None  # a block instance: the call that made it


@dataclass(frozen=True, slots=True)
class BlockCall:
    """The call a block instance was made by: the block's name and its bound arguments, every parameter
    in the definition's order (`given` names those the call wrote; the others took their default).
    Values are plain data: bool, int, float, str (a shortcut kind `B`, a size `3x3`), tuples of them, or
    None for a tensor argument.

    `definition` is the block's definition as written (its `resdsl.syntax.ast.BlockDef`, spans included)
    and `functions` the spec's `def`s (`ast.FuncDef`) it may call: data the code generator reads the
    block's own conditions from (`if expanded != @in.c`, a shortcut's `B if stride == 1 else none`).  One
    object per definition, shared by its instances; not compared."""

    block: str
    args: tuple[tuple[str, Any], ...]
    given: tuple[str, ...]
    definition: Any = field(default=None, compare=False)
    functions: tuple[Any, ...] = field(default=(), compare=False)

    def value(self, name: str) -> Any:
        return dict(self.args)[name]


@dataclass(frozen=True, slots=True)
class Node:
    """One op applied to the outputs of earlier nodes; `path` is its module path when `op.is_layer`,
    else a display name unique within its scope (`layer1.0.add`)."""

    id: int
    op: Op
    inputs: tuple[int, ...]
    type: TensorType
    name: str
    path: str
    scope: int
    stage: str
    span: SourceSpan

    @property
    def is_module(self) -> bool:
        return self.op.is_layer


def _slot_setters(cls) -> tuple:
    return tuple(cls.__dict__[f].__set__ for f in cls.__dataclass_fields__)


NODE_SLOTS = _SET_NODE = _slot_setters(Node)  # (the builder's replay inlines new_node)


def new_node(id: int, op: Op, inputs: tuple[int, ...], type: TensorType, name: str, path: str, scope: int,
             stage: str, span: SourceSpan) -> Node:
    """`Node(...)`, for the builder's hot path: the frozen dataclass's `__init__` sets each field through
    `object.__setattr__`, a third of the cost of elaborating a replayed block; this writes the slots
    directly.  The result is an ordinary `Node` (equal, hashable, picklable)."""
    node = _new(Node)
    s_id, s_op, s_inputs, s_type, s_name, s_path, s_scope, s_stage, s_span = _SET_NODE
    s_id(node, id)
    s_op(node, op)
    s_inputs(node, inputs)
    s_type(node, type)
    s_name(node, name)
    s_path(node, path)
    s_scope(node, scope)
    s_stage(node, stage)
    s_span(node, span)
    return node


_SET_SCOPE = _slot_setters(Scope)


def new_scope(id: int, parent: int | None, name: str, path: str, kind: str, block: str | None, stage: str,
              span: SourceSpan, call: BlockCall | None = None) -> Scope:
    """`Scope(...)` for the builder's hot path (one per block instance), as `new_node` is for nodes."""
    scope = _new(Scope)
    s_id, s_parent, s_name, s_path, s_kind, s_block, s_stage, s_span, s_call = _SET_SCOPE
    s_id(scope, id)
    s_parent(scope, parent)
    s_name(scope, name)
    s_path(scope, path)
    s_kind(scope, kind)
    s_block(scope, block)
    s_stage(scope, stage)
    s_span(scope, span)
    s_call(scope, call)
    return scope


new_object = _new = object.__new__


@dataclass(frozen=True)
class Graph:
    name: str
    nodes: tuple[Node, ...]  # topological order; nodes[0] is the input
    scopes: tuple[Scope, ...]  # scopes[0] is the network
    output: int  # the main output: what evaluation returns
    heads: tuple[AuxHead, ...] = ()  # training-time auxiliary heads, side branches of the main path
    order: OutputOrder | None = None  # what training returns when there are heads

    @cached_property
    def head_of(self) -> tuple[int, ...]:
        """For each node, the index of the aux head it belongs to, or -1 on the main path."""
        owner = [-1] * len(self.nodes)
        for i, head in enumerate(self.heads):
            owner[head.first:head.last + 1] = [i] * (head.last + 1 - head.first)
        return tuple(owner)

    def head_named(self, name: str) -> AuxHead:
        return next(h for h in self.heads if h.name == name)

    @property
    def training_outputs(self) -> OutputOrder | None:
        """The outputs training returns (None: the main output alone, as in evaluation)."""
        if not self.heads:
            return None
        return self.order or OutputOrder.implied(self.heads)

    @property
    def input_type(self) -> TensorType:
        return self.nodes[0].type

    @property
    def output_type(self) -> TensorType:
        return self.nodes[self.output].type

    @cached_property
    def users(self) -> tuple[tuple[int, ...], ...]:
        """For each node, the nodes that read its output."""
        users: list[list[int]] = [[] for _ in self.nodes]
        for node in self.nodes:
            for i in node.inputs:
                users[i].append(node.id)
        return tuple(tuple(u) for u in users)

    @cached_property
    def indexed_pools(self) -> frozenset[int]:
        """The max pools whose indices an unpool reads: they return (values, indices)."""
        return frozenset(node.inputs[node.op.indices_input] for node in self.nodes
                         if node.op.indices_input is not None)

    @cached_property
    def stages(self) -> tuple[str, ...]:
        """Stage names in order of first appearance."""
        seen: dict[str, None] = {}
        for node in self.nodes[1:]:
            seen.setdefault(node.stage, None)
        return tuple(seen)

    def scope_chain(self, scope_id: int) -> tuple[Scope, ...]:
        """The scope and its ancestors, outermost first."""
        chain = []
        current: int | None = scope_id
        while current is not None:
            chain.append(self.scopes[current])
            current = self.scopes[current].parent
        return tuple(reversed(chain))
