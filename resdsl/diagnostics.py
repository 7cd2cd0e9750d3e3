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
    """Tensor shapes do not fit together."""


class BudgetError(ResdslError):
    """A declared budget on params / MACs / FLOPs / memory is exceeded."""


class LimitError(ResdslError):
    """A spec asks for more than resdsl will allocate (absurd repeats, widths or op counts)."""


class UsageError(ResdslError):
    """The command line or API call itself is wrong (exit code 2, not 1)."""


class MultipleErrors(ResdslError):
    """Several independent errors found in one run."""

    @classmethod
    def combine(cls, errors: Sequence[ResdslError]) -> ResdslError:
        if len(errors) == 1:
            return errors[0]
        diags = tuple(d for e in errors for d in e.diagnostics)
        combined = cls("", diagnostics=diags)
        combined.sources = errors[0].sources
        return combined


def render_diagnostic(d: Diagnostic, sources: Mapping[str, str]) -> str:
    out = [f"{d.span}: error: {d.message}"]
    out.extend(_quote(d.span, sources))
    if d.hint:
        out.append(f"  hint: {d.hint}")
    for span, note in d.notes:
        out.append(f"{span}: note: {note}")
        out.extend(_quote(span, sources))
    return "\n".join(out)


def _source_line(sources: Mapping[str, str], file: str, line: int) -> str | None:
    text = sources.get(file)
    if text is None or line <= 0:
        return None
    lines = text.splitlines()
    return lines[line - 1] if line <= len(lines) else None


def _quote(span: SourceSpan, sources: Mapping[str, str]) -> list[str]:
    text = _source_line(sources, span.file, span.line)
    if text is None:
        return []
    text = text.replace("\t", " ")
    if span.end_line == span.line and span.end_column > span.column:
        width = span.end_column - span.column
    else:
        width = max(1, len(text.rstrip()) - span.column + 1)
    width = max(1, min(width, max(1, len(text) - span.column + 1)))
    return [f"    {text}", "    " + " " * (span.column - 1) + "^" * width]


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
