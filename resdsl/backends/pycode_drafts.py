"""The class bodies the code generator drafts before writing them (`Draft`), the instances and loops that
use them (`Instance`, `Run`), and merging one unnamed `nn.Sequential`'s entries across a block's instances
(`union_entries`, `match_entries`).  Nothing here imports torch.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from resdsl.backends.pycode_format import Arg, Expr
from resdsl.backends.pycode_literals import Slot, marked_expr, relabel
from resdsl.backends.pycode_scopes import Unit


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


def definition_name(d: Draft) -> str:
    call = d.unit.scope.call
    return call.block if call is not None else (d.unit.scope.block or "block")


def entry_position(key: Any) -> tuple[str, int, int]:
    span = key[1]
    return span.file, span.line, span.column


def union_entries(base: Draft, drafts: list[Draft]) -> Draft:
    """`base` with each unnamed `nn.Sequential` holding every entry any instance has (in the order of their
    calls in the spec: an `if`/`else` in the block's body gives entries no one instance has together),
    the entries taken from other instances bringing their literals along as new slots."""
    slots = list(base.slots)
    init = []
    for attr, expr in base.init:
        others = [e for d in drafts for a, e in d.init if a == attr]
        if expr.keys is None or any(e.keys is None or e.callee != "nn.Sequential" for e in others) or \
                all(e.keys == expr.keys for e in others) or len({marked_expr(e)[0] for e in others}) == 1:
            init.append((attr, expr))
            continue
        found: dict[Any, tuple[Draft, Arg]] = {}
        ordered = True
        for d in [base] + drafts:
            e = dict(d.init).get(attr)
            if e is None:
                continue
            positions = [entry_position(k) for k in e.keys]
            ordered &= positions == sorted(set(positions))
            for key, (_, entry) in zip(e.keys, e.args):
                found.setdefault(key, (d, entry))
        keys = sorted(found, key=entry_position)
        if not ordered or len({entry_position(k) for k in keys}) != len(keys):
            init.append((attr, expr))  # no one order for all: left to the comparison to refuse
            continue
        entries: list[tuple[str | None, Arg]] = []
        for key in keys:
            d, entry = found[key]
            if d is not base:
                def move(k: int, d: Draft = d) -> int:
                    slots.append(d.slots[k])
                    return len(slots) - 1
                entry = relabel(entry, move)
            entries.append((None, entry))
        init.append((attr, Expr(expr.callee, entries, expr.brackets, expr.defaults, tuple(keys))))
    if len(slots) == len(base.slots):
        return base
    return Draft(base.unit, init, base.forward, base.params, slots, base.members)


def match_entries(full: Expr, part: Expr) -> list[int] | None:
    """Where each entry of the `nn.Sequential` `part` is among `full`'s (same call in the spec, same code),
    or None: the instance's entries are the full one's with some left out."""
    if full.callee != "nn.Sequential" or part.callee != "nn.Sequential" or full.keys is None or part.keys is None:
        return None
    where: list[int] = []
    k = 0
    for key, (_, entry) in zip(part.keys, part.args):
        while k < len(full.keys) and full.keys[k] != key:
            k += 1
        if k == len(full.keys) or marked_expr(entry)[0] != marked_expr(full.args[k][1])[0]:
            return None
        where.append(k)
        k += 1
    return where


def module_attrs(d: Draft) -> set[str]:
    return {attr for attr, _ in d.init}
