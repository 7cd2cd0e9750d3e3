"""Source spans and the one error hierarchy every stage raises.

Every user-facing failure is a `ResdslError` carrying one or more `Diagnostic`s, each with a span into
the source.  `render()` prints them as `file:line:col: error: ...`, the source line, a caret under the
span and a hint: the CLI is the only place that turns them into an exit code.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence


@dataclass(frozen=True)
class SourceSpan:
    """A region of one source file: 1-based line and column, end exclusive on the same line or later."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    @staticmethod
    def unknown(file: str = "<unknown>") -> "SourceSpan":
        return SourceSpan(file, 0, 0, 0, 0)

    def __str__(self) -> str:
        if self.line <= 0 or self.file.startswith("-"):  # the command line itself (`--device`, `-o`)
            return self.file
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Diagnostic:
    span: SourceSpan
    message: str
    hint: str | None = None
    notes: tuple[tuple[SourceSpan, str], ...] = ()


class ResdslError(Exception):
    """A problem in a spec (or in how it was invoked), located in the source.

    Subclasses name the phase; all carry a tuple of diagnostics so one run can report several
    independent problems.
    """

    kind = "error"

    def __init__(self, message: str, span: SourceSpan | None = None, hint: str | None = None,
                 *, diagnostics: Sequence[Diagnostic] | None = None,
                 notes: Sequence[tuple[SourceSpan, str]] = ()):
        if diagnostics is None:
            diagnostics = (Diagnostic(span or SourceSpan.unknown(), message, hint, tuple(notes)),)
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)
        # File texts, attached by the loader, so rendering can quote the offending line.
        self.sources: Mapping[str, str] = {}
        super().__init__(self.diagnostics[0].message if self.diagnostics else "")

    def __str__(self) -> str:
        return self.render()

    def with_sources(self, sources: Mapping[str, str]) -> "ResdslError":
        self.sources = sources
        return self

    @property
    def span(self) -> SourceSpan:
        return self.diagnostics[0].span

    @property
    def message(self) -> str:
        return self.diagnostics[0].message

    @property
    def hint(self) -> str | None:
        return self.diagnostics[0].hint

    def render(self) -> str:
        return "\n".join(render_diagnostic(d, self.sources) for d in self.diagnostics)


class SpecSyntaxError(ResdslError):
    """The text is not a well-formed spec."""


class NameResolutionError(ResdslError):
    """An unknown or duplicate block, parameter, value or file."""


class ShapeError(ResdslError):
    """Tensor shapes do not fit together (channels, map sizes, a flat vector where a map is needed)."""


class ArgumentError(ResdslError):
    """A call's arguments are wrong: too many, one missing, or a value its parameter cannot take."""


class EvaluationError(ResdslError):
    """An expression cannot be evaluated: a wrong type, an index out of range, a division by zero."""


class RequirementError(ResdslError):
    """A `require` of the spec is not met by the parameters it was given."""


class StructureError(ResdslError):
    """The network is not well formed: no input, a merge without branches, a split not followed by one."""


class BudgetError(ResdslError):
    """A declared budget on params / MACs / FLOPs / memory is exceeded."""


class LimitError(ResdslError):
    """A spec asks for more than resdsl will allocate (absurd repeats, widths or op counts)."""


class UsageError(ResdslError):
    """The command line or API call itself is wrong (exit code 2, not 1)."""


class MultipleErrors(ResdslError):
    """Several independent errors found in one run."""

    classes: tuple[str, ...] = ()  # the class of each combined error, in order

    @classmethod
    def combine(cls, errors: Sequence[ResdslError]) -> ResdslError:
        if len(errors) == 1:
            return errors[0]
        diags = tuple(d for e in errors for d in e.diagnostics)
        combined = cls("", diagnostics=diags)
        combined.classes = tuple(n for e in errors for n in (e.classes if isinstance(e, MultipleErrors)
                                                             else (type(e).__name__,)))
        combined.sources = errors[0].sources
        return combined


def render_diagnostic(d: Diagnostic, sources: Mapping[str, str]) -> str:
    out = [f"{printable(str(d.span))}: error: {printable(d.message)}"]
    out.extend(_quote(d.span, sources))
    if d.hint:
        out.append(f"  hint: {printable(d.hint)}")
    for span, note in d.notes:
        out.append(f"{printable(str(span))}: note: {printable(note)}")
        out.extend(_quote(span, sources))
    return "\n".join(out)


def source_lines(text: str) -> list[str]:
    """The lines of a spec exactly as the lexer counts them: a BOM dropped, CRLF and CR read as LF, and
    nothing else a line break (not form feed, VT, FS/GS/RS, NEL, U+2028 or U+2029, which
    `str.splitlines` would split at)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def printable(text: str) -> str:
    """`text` with control and line-separator characters shown as U+FFFD: a spec's bytes must not drive
    the terminal (escape sequences) or break a message into lines.  One character for one, so carets
    stay aligned."""
    return "".join("\ufffd" if _unprintable(c) else c for c in text)


def _unprintable(c: str) -> bool:
    code = ord(c)
    return code < 32 and c != "\t" or 0x7f <= code <= 0x9f or c in "\u2028\u2029"


_QUOTE_WIDTH = 100  # longer lines are shown as a window around the caret


def _quote(span: SourceSpan, sources: Mapping[str, str]) -> list[str]:
    text = sources.get(span.file)
    if text is None or span.line <= 0:
        return []
    lines = source_lines(text)
    if lines and not lines[-1]:
        lines.pop()  # the "line" after the final line break is not one (an empty file quotes nothing)
    if span.line > len(lines):
        return []
    line = printable(lines[span.line - 1].replace("\t", " "))
    column = max(1, span.column)
    if span.end_line == span.line and span.end_column > column:
        width = span.end_column - column
    else:
        width = max(1, len(line.rstrip()) - column + 1)
    width = max(1, min(width, max(1, len(line) - column + 1)))
    if len(line) > _QUOTE_WIDTH:
        start = max(0, min(column - 1 - _QUOTE_WIDTH // 3, len(line) - _QUOTE_WIDTH))
        shown = line[start:start + _QUOTE_WIDTH]
        prefix = "..." if start > 0 else ""
        suffix = "..." if start + _QUOTE_WIDTH < len(line) else ""
        width = max(1, min(width, _QUOTE_WIDTH - (column - 1 - start)))
        return [f"    {prefix}{shown}{suffix}", "    " + " " * (len(prefix) + column - 1 - start) + "^" * width]
    return [f"    {line}", "    " + " " * (column - 1) + "^" * width]


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A 'did you mean' hint for a misspelt name, or None when nothing is close."""
    import difflib  # only when a name is wrong (start-up time)

    close = difflib.get_close_matches(name, sorted(set(candidates)), n=3, cutoff=0.6)
    if not close:
        return None
    if len(close) == 1:
        return f"did you mean '{close[0]}'?"
    return "did you mean " + ", ".join(f"'{c}'" for c in close[:-1]) + f" or '{close[-1]}'?"


@dataclass
class ErrorCollector:
    """Gathers independent errors so one run can report several; raises them together at the end."""

    errors: list[ResdslError] = field(default_factory=list)

    def add(self, error: ResdslError) -> None:
        self.errors.append(error)

    def raise_if_any(self) -> None:
        if self.errors:
            raise MultipleErrors.combine(self.errors)
