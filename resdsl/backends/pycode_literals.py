"""The literals of generated code: `Recorder` collects a class body's numbers and option words as slots (the
marker `\x00k\x00` in the text until the class's instances are known), `check_literal` refuses anything else, and
the small renderings of values (`render_literal`, `python_value`, `show_value`).  Nothing here imports torch.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from resdsl.backends.pycode_format import Arg, Expr, Pair, fmt


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


NO_DEFAULT = object()


@dataclass
class Recorder:
    """Collects the literals of one class body.  The text holds the marker `\x00k\x00` for literal k until
    all instances of the class are known: then each marker becomes the literal, a parameter or an
    expression of a parameter."""

    slots: list[Slot] = field(default_factory=list)

    def lit(self, value: Any, hint: str, forward: bool = False, field: str = "", default: Any = NO_DEFAULT,
            width: bool = False, origin: tuple[Any, str, Any] | None = None) -> str:
        check_literal(value)
        self.slots.append(Slot(value, hint, forward, field, None if default is NO_DEFAULT else default,
                               default is not NO_DEFAULT, width, origin))
        return f"\x00{len(self.slots) - 1}\x00"


def check_literal(value: Any) -> None:
    if isinstance(value, tuple):
        for v in value:
            check_literal(v)
    elif isinstance(value, str):
        if not WORD.fullmatch(value):  # only fixed option words (gelu's "tanh"), never spec text
            raise TypeError(f"cannot write {value!r} into generated code")
    elif not isinstance(value, (bool, int, float)) or not math.isfinite(value):
        raise TypeError(f"cannot write {value!r} into generated code")


WORD = re.compile(r"[a-z][a-z_]{0,23}")  # option words: DropPath's mode="row", gelu's "tanh", "slim_truncated_normal"


MARKER = re.compile("\x00(\\d+)\x00")


def marked_expr(expr: Arg) -> tuple[str, list[int]]:
    """A constructor's text with its literal markers numbered away, and the slots they were."""
    return marked_lines([fmt(expr, 0, float("inf"))])


def marked_lines(lines: list[str]) -> tuple[str, list[int]]:
    text = "\n".join(lines)
    return MARKER.sub("\x00#\x00", text), [int(m.group(1)) for m in MARKER.finditer(text)]


def relabel(arg: Arg, fn: Callable[[int], int]) -> Arg:
    """The same constructor with its literal markers renumbered."""
    if isinstance(arg, str):
        return MARKER.sub(lambda m: f"\x00{fn(int(m.group(1)))}\x00", arg)
    if isinstance(arg, Pair):
        return Pair(arg.name, relabel(arg.value, fn))
    return Expr(arg.callee, [(k, relabel(v, fn)) for k, v in arg.args], arg.brackets, arg.defaults, arg.keys)


def python_value(value: Any) -> Any:
    """A size of the spec (`3x3`, recorded as text) as torch writes it (3; (1, 7))."""
    if isinstance(value, str) and re.fullmatch(r"\d+(?:x\d+)+", value):
        sides = tuple(int(v) for v in value.split("x"))
        return sides[0] if len(set(sides)) == 1 else sides
    return value


def is_plain(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def show_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render_literal(value: Any) -> str:
    check_literal(value)
    return f'"{value}"' if isinstance(value, str) else repr(value)  # option words: plain letters


def short_pair(p: tuple[int, int]) -> int | tuple[int, int]:
    return p[0] if p[0] == p[1] else p
