"""The abstract syntax of a .res file: frozen dataclasses, each with its source span first.

The AST says what was written, nothing more: names are not resolved and expressions are not
evaluated here (that is `resdsl.elaborate`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from resdsl.diagnostics import SourceSpan

# ---- expressions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Number:
    span: SourceSpan
    value: int | float
    text: str


@dataclass(frozen=True)
class DimsLit:
    span: SourceSpan
    values: tuple[int, ...]


@dataclass(frozen=True)
class String:
    span: SourceSpan
    value: str


@dataclass(frozen=True)
class Name:
    span: SourceSpan
    name: str


@dataclass(frozen=True)
class ValueRef:
    """`@name` or `@name.attr`: a tensor value computed earlier in the same body (or `@in`); `attr` may be
    dotted (`@enc.down.pool`: a max pool inside nested labelled blocks)."""

    span: SourceSpan
    name: str
    attr: str | None = None


@dataclass(frozen=True)
class BinOp:
    span: SourceSpan
    op: str
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True)
class UnaryOp:
    span: SourceSpan
    op: str
    operand: "Expr"


@dataclass(frozen=True)
class Conditional:
    span: SourceSpan
    then: "Expr"
    cond: "Expr"
    otherwise: "Expr"


@dataclass(frozen=True)
class ListLit:
    span: SourceSpan
    items: tuple["Expr", ...]


@dataclass(frozen=True)
class MapLit:
    span: SourceSpan
    entries: tuple[tuple["Expr", "Expr"], ...]


@dataclass(frozen=True)
class Index:
    span: SourceSpan
    target: "Expr"
    index: "Expr"


@dataclass(frozen=True)
class Attr:
    span: SourceSpan
    target: "Expr"
    name: str


@dataclass(frozen=True)
class FuncCall:
    """`name(a, b, key=c)`: a built-in function or a `def` of the spec.  `keywords` are (name, value)."""

    span: SourceSpan
    name: str
    args: tuple["Expr", ...]
    keywords: tuple[tuple[str, "Expr", SourceSpan], ...] = ()


@dataclass(frozen=True)
class ListComp:
    """`[item for var in iterable if cond]`."""

    span: SourceSpan
    item: "Expr"
    var: str
    iterable: "Expr"
    cond: "Expr | None"


Expr = Union[Number, DimsLit, String, Name, ValueRef, BinOp, UnaryOp, Conditional, ListLit, MapLit,
             Index, Attr, FuncCall, ListComp]

# ---- items ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arg:
    """One argument of a call: positional (`name is None`) or keyword.  `/2` is `stride=2`."""

    span: SourceSpan
    name: str | None
    value: Expr


@dataclass(frozen=True)
class Call:
    """`conv 3x3 64 /2`, `bottleneck(64, stride=2)`: a primitive op or a block."""

    span: SourceSpan
    name: str
    args: tuple[Arg, ...]
    name_span: SourceSpan


@dataclass(frozen=True)
class Label:
    """The name given to an item; `denselayer{i}` interpolates loop variables.  `quoted`: written as a
    string (`"block1-0":`)."""

    span: SourceSpan
    template: str
    quoted: bool = False


@dataclass(frozen=True)
class Labelled:
    span: SourceSpan
    label: Label
    item: "Item"


@dataclass(frozen=True)
class Group:
    """`{ ... }`: a sequence; a scope of its own when labelled, inline otherwise."""

    span: SourceSpan
    body: "Body"


@dataclass(frozen=True)
class Merge:
    """`add { ... }` / `concat { ... }` / `mul { ... }` / `mean drop=0.15 { ... }`: each line is a
    branch from the current value; `args` are the merge's own arguments (only `mean` takes any)."""

    span: SourceSpan
    kind: str
    body: "Body"
    args: tuple["Arg", ...] = ()


@dataclass(frozen=True)
class Residual:
    """`residual shortcut=B { ... }`: body(x) merged with a shortcut of x chosen by its kind."""

    span: SourceSpan
    args: tuple[Arg, ...]
    body: "Body"


@dataclass(frozen=True)
class ValueItem:
    """`@name` at the start of a chain: continue from that value instead of the current one."""

    span: SourceSpan
    name: str


Item = Union[Call, Group, Merge, Residual, ValueItem]
Element = Union[Labelled, Call, Group, Merge, Residual, ValueItem]

# ---- statements -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chain:
    span: SourceSpan
    elements: tuple[Element, ...]


@dataclass(frozen=True)
class Let:
    span: SourceSpan
    name: str
    value: Expr


@dataclass(frozen=True)
class For:
    span: SourceSpan
    var: str
    start: Expr
    end: Expr
    body: "Body"


@dataclass(frozen=True)
class If:
    span: SourceSpan
    cond: Expr
    then: "Body"
    otherwise: "Body | If | None"


@dataclass(frozen=True)
class Section:
    """`stem ...` / `head ...`: items reported together as one stage."""

    span: SourceSpan
    kind: str
    chain: Chain


@dataclass(frozen=True)
class StageRow:
    span: SourceSpan
    label: Label
    args: tuple[Arg, ...]
    repeats: Expr | None


@dataclass(frozen=True)
class Stages:
    """`stages block(args) { name: width xN /stride ... }`: the ResNet table as rows."""

    span: SourceSpan
    call: Call
    rows: tuple[StageRow, ...]


@dataclass(frozen=True)
class InputStmt:
    span: SourceSpan
    shape: Expr


@dataclass(frozen=True)
class BudgetItem:
    span: SourceSpan
    metric: str
    op: str
    limit: Expr


@dataclass(frozen=True)
class Budget:
    span: SourceSpan
    items: tuple[BudgetItem, ...]


@dataclass(frozen=True)
class StochasticDepth:
    span: SourceSpan
    args: tuple[Arg, ...]


@dataclass(frozen=True)
class Require:
    """`require depth % 6 == 2 "depth is 6n+2"`: a family's check on its parameters."""

    span: SourceSpan
    cond: Expr
    message: str | None


@dataclass(frozen=True)
class InitRule:
    """`conv: kaiming_normal(mode=fan_out)`: the layers a rule targets and the initialiser it calls.
    Unquoted, the target is a kind of layer; quoted (`"classifier.1": ...`), the path of one layer."""

    span: SourceSpan
    target: str
    target_span: SourceSpan
    call: Call
    path: bool = False   # `"classifier.1": ...`: a quoted target names one layer by its module path


@dataclass(frozen=True)
class InitSection:
    """`init { rule, ... }`: how the weights of a network's (or a block's) layers start."""

    span: SourceSpan
    rules: tuple[InitRule, ...]


@dataclass(frozen=True)
class AuxHead:
    """`aux aux1: googlenet_aux(classes)`: a training-time auxiliary head branching off the main path
    at this point; the main path continues from the same value.  `aux aux1 @inception4a: ...` reads
    that earlier tensor of the main path instead (the head still registers where it stands)."""

    span: SourceSpan
    label: Label
    item: "Item"
    source: str | None = None
    source_span: SourceSpan | None = None


@dataclass(frozen=True)
class OutputField:
    span: SourceSpan
    name: str      # the field of the outputs tuple (`aux_logits2`)
    source: str    # `main` or the name of an aux head (`aux2`)


@dataclass(frozen=True)
class Outputs:
    """`outputs GoogLeNetOutputs(logits=main, aux_logits2=aux2, aux_logits1=aux1)`: the order and names
    of the outputs returned in training."""

    span: SourceSpan
    type_name: str
    fields: tuple[OutputField, ...]


Statement = Union[Require, Chain, Let, For, If, Section, Stages, InputStmt, Budget, StochasticDepth, InitSection,
                  AuxHead, Outputs]


@dataclass(frozen=True)
class Body:
    span: SourceSpan
    statements: tuple[Statement, ...]


# ---- top level --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    span: SourceSpan
    name: str
    default: Expr | None


@dataclass(frozen=True)
class BlockDef:
    """`block name(params) { ... }` (a scope of its own) or `group ...` (spliced into the caller)."""

    span: SourceSpan
    name: str
    params: tuple[Param, ...]
    body: Body
    inline: bool


@dataclass(frozen=True)
class FuncDef:
    """`def name(params) = expr`, or `def name(params) { let ...; require ...; return expr }`: a pure
    function of values (no tensors, no ops).  `steps` are the `let`s and `require`s before the result."""

    span: SourceSpan
    name: str
    params: tuple[Param, ...]
    steps: tuple["Let | Require", ...]
    result: Expr


@dataclass(frozen=True)
class NetworkDef:
    span: SourceSpan
    name: str
    params: tuple[Param, ...]
    body: Body


@dataclass(frozen=True)
class NetworkAlias:
    """`network resnet50 = resnet(depth=50)`: a family member under its own name."""

    span: SourceSpan
    name: str
    target: Call


@dataclass(frozen=True)
class TableCell:
    span: SourceSpan
    name: str
    value: Expr


@dataclass(frozen=True)
class TableRow:
    span: SourceSpan
    name: str
    target: Call
    cells: tuple[TableCell, ...]


@dataclass(frozen=True)
class TableDef:
    span: SourceSpan
    name: str
    title: str | None
    rows: tuple[TableRow, ...]


@dataclass(frozen=True)
class Import:
    span: SourceSpan
    path: str


Definition = Union[Import, BlockDef, FuncDef, NetworkDef, NetworkAlias, TableDef]


@dataclass(frozen=True)
class Module:
    span: SourceSpan
    file: str
    definitions: tuple[Definition, ...]
