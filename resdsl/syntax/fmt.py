r"""`resdsl fmt`: the canonical layout of a spec, rewritten line by line so comments survive.

The canonical layout is deliberately about layout only; it never reorders or rewrites what is written:
  - indentation is two spaces per open `{`; a line that starts with `}` closes first.  Lines of a
    block whose `{` has code after it on its line (`concat { a` / `b }`) are aligned by hand and keep
    their indentation, as do continuation lines (after a line ending in `\`, `=`, `,` or an
    operator, or inside an open `(` or `[`), so aligned arguments stay aligned;
  - no trailing whitespace; tabs in indentation become spaces; Windows line ends become `\n`;
  - no space before a comma and at least one after it (outside strings and comments);
  - a trailing comment is separated from the code by at least two spaces (`conv 3x3 64  # why`);
  - at most one blank line in a row, none at the start or end of the file, none just inside a `{ }`;
  - the file ends with exactly one newline.
Spacing inside a line is otherwise kept: the column alignment of stage tables (`layer1: 64  x3`) is
part of how specs read.  `format_source` is idempotent, and `same_syntax` proves the rewrite changed no
syntax: the ASTs before and after are equal with their source spans stripped.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from resdsl.diagnostics import SourceSpan

INDENT = "  "
# A line whose code ends like this goes on on the next line, which keeps its own indentation.
_CONTINUES = ("\\", "=", ",", "+", "-", "*", "/", "%", "::", "(", "[")


def _split_comment(line: str) -> tuple[str, str]:
    """(code, comment) of one line; a `#` inside a string is code."""
    in_string = False
    for i, ch in enumerate(line):
        if ch == '"':
            in_string = not in_string
        elif ch == "#" and not in_string:
            return line[:i], line[i:]
    return line, ""


def _normalise_code(code: str) -> str:
    """No space before a comma, at least one after it (strings untouched)."""
    out: list[str] = []
    in_string = False
    i = 0
    while i < len(code):
        ch = code[i]
        if ch == '"':
            in_string = not in_string
        if ch == "," and not in_string:
            while out and out[-1] == " ":
                out.pop()
            out.append(",")
            if i + 1 < len(code) and code[i + 1] not in " \t":
                out.append(" ")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _depths(code: str) -> tuple[int, int]:
    """Net change of brace depth and of paren/bracket depth over a line's code (strings skipped)."""
    braces = parens = 0
    in_string = False
    for ch in code:
        if ch == '"':
            in_string = not in_string
        elif in_string:
            continue
        elif ch == "{":
            braces += 1
        elif ch == "}":
            braces -= 1
        elif ch in "([":
            parens += 1
        elif ch in ")]":
            parens -= 1
    return braces, parens


def _track_braces(code: str, stack: list[bool]) -> None:
    """Push a flag per `{` (True when code follows it on its line: the lines of that block are
    aligned by hand and keep their indentation), pop per `}`."""
    in_string = False
    for i, ch in enumerate(code):
        if ch == '"':
            in_string = not in_string
        elif in_string:
            continue
        elif ch == "{":
            stack.append(bool(code[i + 1:].strip()))
        elif ch == "}" and stack:
            stack.pop()


def format_source(text: str) -> str:
    """The canonical layout of a spec's text (see the module docstring)."""
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    return bom + _format(text[len(bom):])


def _format(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    braces = parens = 0
    continued = False
    stack: list[bool] = []  # per open brace: is its block aligned after it (`concat { a` ... `b }`)?
    for raw in lines:
        line = raw.rstrip()
        body = line.lstrip(" \t")
        if not body:
            out.append("")
            continued = False
            continue
        code, comment = _split_comment(body)
        gap = len(code) - len(code.rstrip())
        code = _normalise_code(code.rstrip())
        if code and comment:
            comment = " " * max(2, gap) + comment
        if parens > 0 or continued or any(stack):  # a continuation line: keep its indentation (tabs as two spaces)
            lead = raw[: len(raw) - len(raw.lstrip(" \t"))].replace("\t", INDENT)
            out.append(lead + code + comment)
        else:
            depth = max(0, braces - (1 if code.startswith("}") else 0))
            out.append(INDENT * depth + code + comment)
        continued = code.endswith(_CONTINUES) or code.endswith((" and", " or"))
        db, dp = _depths(code)
        _track_braces(code, stack)
        braces = max(0, braces + db)
        parens = max(0, parens + dp)
    return _blank_lines(out)


def _blank_lines(lines: list[str]) -> str:
    kept: list[str] = []
    for line in lines:
        if not line:
            if not kept or not kept[-1] or _code(kept[-1]).endswith("{"):
                continue
        elif line.lstrip().startswith("}"):
            while kept and not kept[-1]:
                kept.pop()
        kept.append(line)
    while kept and not kept[-1]:
        kept.pop()
    return "\n".join(kept) + "\n" if kept else ""


def _code(line: str) -> str:
    return _split_comment(line.strip())[0].rstrip()


# ---- proof that nothing but layout changed -------------------------------------------------------


def strip_spans(node: Any) -> Any:
    """An AST as plain nested tuples without any `SourceSpan` (or the file name), for comparison."""
    if isinstance(node, SourceSpan):
        return None
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return (type(node).__name__,) + tuple(
            (f.name, strip_spans(getattr(node, f.name))) for f in dataclasses.fields(node)
            if not isinstance(getattr(node, f.name), SourceSpan) and f.name != "file")
    if isinstance(node, (tuple, list)):
        return tuple(strip_spans(n) for n in node)
    return node


def same_syntax(before: str, after: str, name: str = "<string>") -> bool:
    from resdsl.syntax.parser import parse

    return strip_spans(parse(before, name)) == strip_spans(parse(after, name))
