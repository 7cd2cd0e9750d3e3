"""Edits of generated statements as text: aux heads' lines under `if self.training:`, a numbered-blocks loop,
`out += x` written out, a class's source without its docstring.  Nothing here imports torch.
"""
from __future__ import annotations

import re
from typing import Any, Sequence

from resdsl.backends.pycode_family import group_lines


TRAINING = "\x01"  # marks a forward line of an aux head until `training_blocks` writes the `if`


def grouped_origins(lines: Sequence[str], origins: Sequence[Any] | None) -> list[Any]:
    """The origin of each statement `group_lines` makes of `lines` (its first line's)."""
    if origins is None or len(origins) != len(lines):
        return [None] * len(group_lines(lines))
    out: list[Any] = []
    for k, (line, origin) in enumerate(zip(lines, origins)):
        if not (line.startswith(" ") and k):
            out.append(origin)
    return out


def training_blocks(lines: list[str]) -> list[str]:
    """Runs of marked lines under one `if self.training:`."""
    out: list[str] = []
    inside = False
    for line in lines:
        marked = line.startswith(TRAINING)
        if marked and not inside:
            out.append("if self.training:")
        out.append("    " + line[1:] if marked else line)
        inside = marked
    return out


def is_run_loop(statement: str) -> bool:
    """`for i in range(n):` over numbered blocks (`Generator.forward_body`): left out where it runs no times."""
    return statement.startswith("for i in range(") and "getattr(self, f\"" in statement


def unaugment(statement: str) -> str:
    """`out += x` as `out = out + x` (where another instance adds a value it must not overwrite)."""
    m = re.fullmatch(r"(\w+) \+= (.*)", statement)
    return f"{m.group(1)} = {m.group(1)} + {m.group(2)}" if m else statement


def is_subsequence(items: list[str], of: list[str]) -> bool:
    it = iter(of)
    return all(any(x == y for y in it) for x in items)


def undocumented(source: str) -> str:
    """A class's source without its docstring (which names this member's instances)."""
    return re.sub(r'^    """.*?"""\n', "", source, count=1, flags=re.S | re.M)
