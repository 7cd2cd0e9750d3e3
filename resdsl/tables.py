"""Paper tables as data: each row of a `table` names a network and the figures a paper printed for it.

A published figure is compared at the precision it is printed with: `0.27M` is matched by any count
that rounds (or, as some tables do, truncates) to 0.27 million.  `*_exact` cells must be equal.
Other cells (`error=8.75`) are carried along for display.  A row with `reproduces=false` shows its
published figures without claiming them (a faithful build is known to differ; say why in a comment).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from resdsl.diagnostics import ArgumentError, LimitError, NameResolutionError, ResdslError, SourceSpan, did_you_mean
from resdsl.elaborate.binding import bind
from resdsl.elaborate.loader import Program
from resdsl.elaborate.values import Env, Evaluator
from resdsl.elaborate.work import TableWork
from resdsl.pipeline import check_program, load_program
from resdsl.syntax import ast
from resdsl.units import si

METRICS = ("params", "macs", "flops")
_PUBLISHED = re.compile(r"\d+(?:\.\d+)?(?:[KMGT]|[eE][+-]?\d+)?")  # what parse_published reads
_SCALES = {"K": 3, "M": 6, "G": 9, "T": 12}


@dataclass(frozen=True)
class Figure:
    metric: str
    text: str           # as the table prints it
    ours: int
    exact: bool         # an *_exact cell: equality required
    how: str            # "exact" | "rounds" | "truncates" | "differs"

    @property
    def matches(self) -> bool:
        return self.how != "differs"

    @property
    def published(self) -> float:
        return float(parse_published(self.text)[0])


@dataclass(frozen=True)
class RowResult:
    name: str
    network: str
    params: int
    macs: int
    figures: tuple[Figure, ...]
    info: tuple[tuple[str, str], ...]
    claims: bool
    span: SourceSpan

    @property
    def ok(self) -> bool:
        return not self.claims or all(f.matches for f in self.figures)


@dataclass(frozen=True)
class TableResult:
    name: str
    title: str | None
    rows: tuple[RowResult, ...]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)


def parse_published(text: str) -> tuple[Decimal, int, int]:
    """`0.27M` -> (value 270000, decimals 2, exponent 6); `1.8e9` -> (1.8e9, 1, 9); `269722` -> (.., 0, 0)."""
    body, exponent = text, 0
    if body and body[-1] in _SCALES:
        exponent, body = _SCALES[body[-1]], body[:-1]
    elif "e" in body.lower():
        body, _, exp = body.lower().partition("e")
        exponent = int(exp)
    decimals = len(body.partition(".")[2])
    return Decimal(body) * (Decimal(10) ** exponent), decimals, exponent


def compare(ours: int, text: str, exact: bool) -> str:
    value, decimals, exponent = parse_published(text)
    if exact or (decimals == 0 and exponent == 0):
        return "exact" if Decimal(ours) == value else "differs"
    quantum = Decimal(1).scaleb(-decimals)
    scaled = Decimal(ours).scaleb(-exponent)
    shown = value.scaleb(-exponent)
    if scaled.quantize(quantum, rounding=ROUND_HALF_UP) == shown:
        return "rounds"
    if scaled.quantize(quantum, rounding=ROUND_FLOOR) == shown:
        return "truncates"
    return "differs"


def evaluate_file(path: str | Path) -> list[TableResult]:
    program = load_program(path)
    if not program.main_tables:
        raise NameResolutionError(f"{program.main_file} defines no table", SourceSpan(program.main_file, 1, 1, 1, 1),
                                  "a table looks like `table NAME \"title\" { row = network(args) :: params=0.27M }`")
    try:
        work = TableWork()  # one budget for the whole file: many cheap rows must not add up to hours
        return [evaluate(program, program.tables[name], work) for name in program.main_tables]
    except ResdslError as err:
        raise err.with_sources(program.sources) from None


def evaluate(program: Program, table: ast.TableDef, work: TableWork | None = None) -> TableResult:
    seen: dict[str, SourceSpan] = {}
    for row in table.rows:
        if row.name in seen:
            raise NameResolutionError(f"table {table.name} has two rows named {row.name}", row.span,
                                      "give each row its own name", notes=[(seen[row.name], "first row here")])
        seen[row.name] = row.span
    work = work or TableWork()
    return TableResult(table.name, table.title, tuple(_row(program, row, work) for row in table.rows))


FIGURE_CELLS = METRICS + tuple(f"{m}_exact" for m in METRICS) + ("reproduces",)


def _check_cells(row: ast.TableRow) -> None:
    """A misspelt figure (`parmas`) would silently become a note and the row would claim nothing."""
    seen: set[str] = set()
    for cell in row.cells:
        if cell.name in seen:
            raise NameResolutionError(f"row {row.name} gives '{cell.name}' twice", cell.span)
        seen.add(cell.name)
        if cell.name not in FIGURE_CELLS:
            close = did_you_mean(cell.name, FIGURE_CELLS)
            if close:
                raise NameResolutionError(f"unknown figure '{cell.name}' in row {row.name}", cell.span,
                                          close + " (other names are shown as notes)")


def _row(program: Program, row: ast.TableRow, work: TableWork) -> RowResult:
    target = row.target
    definition = program.networks.get(target.name)
    if definition is None:
        raise NameResolutionError(f"unknown network '{target.name}' in table row {row.name}", target.span,
                                  did_you_mean(target.name, program.networks) or "import the file that defines it")
    _check_cells(row)
    overrides = _bind(definition, target)
    budget = work.row_budget()
    try:
        net = check_program(program, target.name, overrides, target.span, work=budget)
    except LimitError as err:
        if work.steps == 0:
            raise
        raise LimitError(err.message, err.span, err.hint, notes=[*err.diagnostics[0].notes, (
            row.span, f"in row {row.name}, after the earlier rows used {work.steps:,} steps")]) from None
    work.spent(budget, len(net.graph.nodes), row.span)
    ours = {"params": net.params, "macs": net.macs, "flops": net.flops}
    figures, info, claims = [], [], True
    evaluator = Evaluator(Env(), {})
    for cell in row.cells:
        metric, exact = cell.name, cell.name.endswith("_exact")
        base = metric[: -len("_exact")] if exact else metric
        if base in METRICS:
            if not isinstance(cell.value, ast.Number) or not _PUBLISHED.fullmatch(cell.value.text):
                raise ArgumentError(f"{metric} must be a number as the table prints it, like 0.27M", cell.value.span,
                                 "figures are digits with an optional K/M/G/T or exponent (1.8e9); binary "
                                 "suffixes and units (MiB, B) are not how papers print them")
            figures.append(Figure(base, cell.value.text, ours[base], exact, compare(ours[base], cell.value.text, exact)))
        elif metric == "reproduces":
            value = evaluator.eval(cell.value)
            if not isinstance(value, bool):
                raise ArgumentError("reproduces takes true or false", cell.value.span)
            claims = value
        else:
            text = cell.value.text if isinstance(cell.value, ast.Number) else str(evaluator.eval(cell.value))
            info.append((metric, text))
    return RowResult(row.name, target.name, net.params, net.macs, tuple(figures), tuple(info), claims, row.span)


def _bind(definition, call: ast.Call) -> dict[str, Any]:
    """A row's arguments are the family's parameters, by position or by name."""
    if isinstance(definition, ast.NetworkAlias):
        if call.args:
            raise ArgumentError(f"{definition.name} is a fixed network; its row takes no arguments", call.span,
                             f"call the family it names, {definition.target.name}(...), instead")
        return {}
    return bind(definition.params, call.args, Evaluator(Env(), {}).eval, f"network {definition.name}", call.span,
                scope=Env(), evaluate_in=lambda env, e: Evaluator(env, {}).eval(e), fill=False)


TERMINAL_WIDTH = 100  # what `resdsl table` fits when its output is not a terminal


def render(result: TableResult, width: int = TERMINAL_WIDTH) -> str:
    """One line per published figure: ours beside it, the difference, and whether it matches.

    The full grid when it fits `width`; else the notes go on a wrapped line under their row; else each
    row's name, network, params and MACs head its own block and the figures are aligned under it."""
    import textwrap

    header, body = cells(result)
    title = textwrap.wrap(f"{result.name}" + (f" — {result.title}" if result.title else ""), width=max(width, 40),
                          subsequent_indent="  ")
    for layout in (_grid, _grid_with_notes_below, _stacked):
        lines = layout(header, body, width)
        if max(map(len, lines)) <= width or layout is _stacked:
            summary = textwrap.wrap(summary_line(result), width=max(width, 40), subsequent_indent="  ")
            return "\n".join(title + lines + summary) + "\n"
    raise AssertionError("unreachable: the stacked layout is always returned")


def _aligned(header: list[str], rows: list[list[str]], indent: str = "") -> list[str]:
    """`header`, a rule of dashes as wide as each column, and `rows`, in aligned columns."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return [(indent + "  ".join(c.ljust(w) for c, w in zip(r, widths))).rstrip()
            for r in [header, ["-" * w for w in widths], *rows]]


def _grid(header: list[str], body: list[list[str]], width: int) -> list[str]:
    return _aligned(header, body)


def _notes(text: str, width: int, label: str = "") -> list[str]:
    import textwrap

    indent = "    "
    return textwrap.wrap(f"{label}{text}", width=max(width, 40), initial_indent=indent,
                         subsequent_indent=indent + " " * len(label), break_on_hyphens=False) if text else []


def _grid_with_notes_below(header: list[str], body: list[list[str]], width: int) -> list[str]:
    lines = _aligned(header[:-1], [r[:-1] for r in body])
    out = lines[:2]
    for row, line in zip(body, lines[2:]):
        out += [line, *_notes(row[-1], width)]
    return out


def _stacked(header: list[str], body: list[list[str]], width: int) -> list[str]:
    """Each row's identity on a line of its own, then its figures (aligned over the whole table), then
    its notes: the layout for tables whose grid is wider than the terminal."""
    figures = _aligned(header[4:8], [r[4:8] for r in body if any(r[4:8])], indent="    ")
    out, shown, notes = [f"{header[0]} ({header[1]}): {header[2]}, {header[3]}", *figures[:2]], iter(figures[2:]), []
    for row in body:
        if row[0]:
            out += notes
            out.append(f"{row[0]} ({row[1]}): {row[2]} params, {row[3]} MACs")
            notes = _notes(row[-1], width, "notes: ")
        if any(row[4:8]):
            out.append(next(shown))
    return out + notes


def summary_line(result: TableResult) -> str:
    claimed = [r for r in result.rows if r.claims and r.figures]
    unclaimed = sum(1 for r in result.rows if not r.claims)
    bare = sum(1 for r in result.rows if r.claims and not r.figures)
    good = sum(r.ok for r in claimed)
    return ((f"{good} of {len(claimed)} claiming rows reproduce their published figures" if claimed
             else "no row claims a published figure")
            + (f"; {unclaimed} shown without a claim" if unclaimed else "")
            + (f"; {bare} with no published count" if bare else ""))


def cells(result: TableResult) -> tuple[list[str], list[list[str]]]:
    """The table as text cells: a header and one line per published figure of each row."""
    header = ["row", "network", "params", "MACs", "published", "ours", "diff", "match", "notes"]
    body = []
    for row in result.rows:
        first = True
        for fig in row.figures or (None,):
            line = [row.name if first else "", row.network if first else "",
                    f"{row.params:,}" if first else "", si(row.macs) if first else ""]
            if fig is None:
                line += ["", "", "", "", ""]
            else:
                diff = fig.ours - fig.published
                pct = f" ({diff / fig.published:+.1%})" if fig.published and not fig.exact else ""
                mark = ("ok " if fig.matches else ("NO " if row.claims else "no ")) + fig.how
                if not row.claims:
                    mark += " (not claimed)"
                line += [f"{fig.metric} {fig.text}", _shown(fig), f"{_signed(diff)}{pct}", mark, ""]
            if first:
                line[-1] = ", ".join(f"{k} {v}" for k, v in row.info)
            body.append(line)
            first = False
    return header, body


def _shown(fig: Figure) -> str:
    if fig.exact:
        return f"{fig.ours:,}"
    _, decimals, exponent = parse_published(fig.text)
    suffix = {v: k for k, v in _SCALES.items()}.get(exponent, f"e{exponent}")
    return f"{fig.ours / 10 ** exponent:.{decimals + 2}f}{suffix}"


def _signed(value: float) -> str:
    if value == 0:
        return "0"
    sign = "+" if value > 0 else "-"
    mag = abs(value)
    return sign + (si(mag) if mag >= 1000 else f"{mag:g}")
