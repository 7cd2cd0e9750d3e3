"""Names in generated code: attribute names (quoted where only getattr/add_module can use them), Python
identifiers made from hints, unique parameter names, docstring text from validated names, and renaming names
inside statements.  Nothing here imports torch.
"""
from __future__ import annotations

import json
import keyword
import re
from typing import Callable

from resdsl.diagnostics import NameResolutionError
from resdsl.ir.names import is_attribute, label_problem


def replace_names(text: str, names: set[str], fn: Callable[[str], str]) -> str:
    if not names:
        return text
    return re.sub(r"(?<![\w.'\"])(" + "|".join(sorted(names)) + r")(?![\w'\"])", lambda m: fn(m.group(1)), text)


def doc_text(text: str) -> str:
    """Docstring text from validated names only; anything else is dropped, never escaped."""
    return re.sub(r"[^\w .,:`()>=-]", "", text)


def attr_name(name: str, path: str) -> str:
    """An attribute name, or a quoted string for a name only getattr/add_module can use (`"0"`,
    `"block1-0"`).  Which names are legal is `resdsl.ir.names`' rule, applied by check."""
    problem = label_problem(name)
    if problem is not None:  # check refuses these at the label; only a hand-made graph gets here
        raise NameResolutionError(f"{problem[0]} (layer {path})", None, problem[1])
    return name if is_attribute(name) else json.dumps(name)


def identifier(hint: str) -> str:
    name = re.sub(r"\W", "_", hint).strip("_") or "value"
    if name[0].isdigit():
        name = "p" + name
    return name


def unique(name: str, taken: set[str]) -> str:
    candidate, k = name, 2
    while candidate in taken or keyword.iskeyword(candidate):
        candidate, k = f"{name}_{k}", k + 1
    taken.add(candidate)
    return candidate
