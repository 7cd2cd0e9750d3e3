"""How the code generator's constructor expressions are held and printed: `Expr` (`callee(arg, name=arg)`),
`Pair` (a named container entry) and `fmt`, which writes one on a line where it fits and one argument per line
otherwise (black's style, torchvision's line width).  Nothing here imports torch.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Union


LINE_WIDTH = 120  # torchvision's black setting


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
    if arg.callee == REPEAT:  # `*[Block(...) for _ in range(n)]`
        ctor, count = (v for _, v in arg.args)
        return f"*[{fmt(ctor, indent, width, lead + 2)} for _ in range({fmt(count, indent, width)})]"
    opening, closing = arg.brackets
    parts = [(f"{k}=" if k else "") + fmt(v, indent + 4, width) for k, v in arg.args]
    one = f"{arg.callee}{opening}{', '.join(parts)}{closing}"
    container = arg.callee in CONTAINERS
    if not (container and arg.args) and "\n" not in one and indent + lead + len(one) <= width:
        return one
    pad = " " * (indent + 4)
    return f"{arg.callee}{opening}\n" + "".join(f"{pad}{p},\n" for p in parts) + f"{' ' * indent}{closing}"


def map_leaves(arg: Arg, fn: Callable[[str], str]) -> Arg:
    if isinstance(arg, str):
        return fn(arg)
    if isinstance(arg, Pair):
        return Pair(arg.name, map_leaves(arg.value, fn))
    args = [(k, map_leaves(v, fn)) for k, v in arg.args]
    args = [(k, v) for k, v in args if not (k in arg.defaults and v == arg.defaults[k])]  # torch's default
    return Expr(arg.callee, args, arg.brackets)


REPEAT = "\x02repeat"  # the callee of `*[ctor for _ in range(count)]`


# Containers are written one entry per line, like torchvision's code.
NAMED_SEQUENTIAL = "nn.Sequential(OrderedDict"


CONTAINERS = {"nn.Sequential", "Group", NAMED_SEQUENTIAL}
