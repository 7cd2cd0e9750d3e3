"""What an editor asks of a spec as it is typed: diagnostics, hover figures, definitions, completions.

Pure functions over (text, path) with 0-based lines and columns, as the Language Server Protocol counts
them; `resdsl/lsp.py` only wires them to pygls.  No torch, no graphviz.  A document is analysed as if
saved at its path, so its imports resolve next to it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from resdsl.diagnostics import ResdslError, SourceSpan
from resdsl.units import si

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
KEYWORDS = ("block", "group", "network", "import", "table", "let", "for", "in", "if", "else", "stem", "head",
            "stages", "input", "budget", "require", "residual", "add", "concat", "mul", "shortcut",
            "stochastic_depth", "true", "false")


@dataclass(frozen=True)
class Problem:
    """One diagnostic, located in the document (0-based, end exclusive)."""

    line: int
    column: int
    end_line: int
    end_column: int
    message: str


@dataclass(frozen=True)
class Analysis:
    """The document's program (None when it does not parse), its checked networks and its problems."""

    program: object | None
    networks: tuple
    problems: tuple[Problem, ...]


def _same_file(span_file: str, path: Path) -> bool:
    if span_file == str(path):
        return True
    try:
        return Path(span_file).resolve() == path.resolve()
    except OSError:
        return False


def _problems(err: ResdslError, path: Path, fallback: SourceSpan | None = None) -> list[Problem]:
    """`fallback`: where to show an error located in another file (the network being checked here)."""
    out = []
    for d in err.diagnostics:
        span = d.span
        message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
        if not _same_file(span.file, path) and span.line > 0:
            # An error inside an imported block or family: shown where this file calls it, if it does.
            here = [s for s, _ in d.notes if _same_file(s.file, path) and s.line > 0]
            if not here and fallback is not None and _same_file(fallback.file, path):
                here = [SourceSpan(fallback.file, fallback.line, fallback.column, fallback.line,
                                   fallback.column + 1)]
            if here:
                message += f"\n(at {span})"
                span = here[-1]
        if not _same_file(span.file, path) or span.line <= 0:
            # In an imported file, or about the file as a whole: shown on the first line.
            where = f" (in {span})" if span.line > 0 else ""
            out.append(Problem(0, 0, 0, 1, message + where))
            continue
        end_line = max(span.end_line, span.line)
        end_col = span.end_column if (span.end_line > span.line or span.end_column > span.column) \
            else span.column + 1
        out.append(Problem(span.line - 1, span.column - 1, end_line - 1, end_col - 1, message))
    return out


def analyse(text: str, path: str | Path) -> Analysis:
    """Load and check every network (or table, or block) the document defines."""
    from resdsl.elaborate.loader import Loader
    from resdsl.elaborate.resolve import check_names
    from resdsl.pipeline import check_program

    path = Path(path)
    try:
        program = Loader().load(path, text=text)
    except ResdslError as err:
        return Analysis(None, (), tuple(_problems(err, path)))
    except RecursionError:
        return Analysis(None, (), (Problem(0, 0, 0, 1, "the spec nests too deeply to analyse"),))
    problems: list[Problem] = []
    networks = []
    try:
        unknown = check_names(program)
        if unknown:
            for err in unknown:
                problems += _problems(err, path)
            return Analysis(program, (), tuple(problems))
        for name in program.main_networks:
            try:
                networks.append(check_program(program, name, enforce_budgets=False))
                for b in networks[-1].budgets:
                    if not b.ok:
                        span = b.limit.span
                        problems.append(Problem(span.line - 1, span.column - 1, span.end_line - 1,
                                                max(span.end_column, span.column + 1) - 1,
                                                f"{b.limit.metric} budget {b.limit.op} {si(b.limit.limit)} "
                                                f"exceeded ({si(b.actual)})"))
            except ResdslError as err:
                problems += _problems(err, path, program.networks[name].span)
        if not program.main_networks and program.main_tables:
            from resdsl.tables import evaluate

            for name in program.main_tables:
                try:
                    evaluate(program, program.tables[name])
                except ResdslError as err:
                    problems += _problems(err, path)
    except RecursionError:
        problems.append(Problem(0, 0, 0, 1, "the spec nests too deeply to analyse"))
    return Analysis(program, tuple(networks), tuple(problems))


def word_at(text: str, line: int, column: int) -> tuple[str, int, int] | None:
    """The identifier under the cursor: (word, start column, end column)."""
    lines = text.splitlines()
    if not 0 <= line < len(lines):
        return None
    for m in _WORD.finditer(lines[line]):
        if m.start() <= column <= m.end():
            return m.group(), m.start(), m.end()
    return None


def hover(analysis: Analysis, path: str | Path, line: int, column: int) -> str | None:
    """Output shape, params and MACs of what the hovered line builds (summed over every use of it)."""
    path = Path(path)
    for net in analysis.networks:
        text = _figures_at(net, path, line + 1, column + 1)
        if text:
            return text
    return None


def _under(span: SourceSpan, line: int, column: int) -> bool:
    return span.line == line and span.column <= column < (span.end_column if span.end_line == line else 10**9)


def _figures_at(net, path: Path, line: int, column: int) -> str | None:
    graph = net.graph
    scope_lines = {s.id: s.span.line for s in graph.scopes if _same_file(s.span.file, path)}
    picked = []
    for node, cost in zip(graph.nodes[1:], net.costs[1:]):
        here = node.span.line == line and _same_file(node.span.file, path)
        if not here:
            here = any(scope_lines.get(s.id) == line for s in graph.scope_chain(node.scope)[1:])
        if here:
            picked.append((node, cost))
    if not picked:
        return None
    exact = [(n, c) for n, c in picked if _under(n.span, line, column) and _same_file(n.span.file, path)]
    if exact:  # the item under the cursor in a chain (`bn1: bn` in a stem line)
        picked = exact
    params = sum(c.params for _, c in picked)
    macs = sum(c.macs for _, c in picked)
    last = picked[-1][0]
    outputs = []
    for node, _ in picked:
        users = graph.users[node.id]
        if not any(u in {n.id for n, _ in picked} for u in users):  # the output of a picked run
            shape = str(node.type)
            if shape not in outputs:
                outputs.append(shape)
    shown = ", ".join(outputs[:4]) + (", ..." if len(outputs) > 4 else "") if outputs else str(last.type)
    what = last.op.describe() if len(picked) == 1 else f"{len(picked)} ops"
    return (f"**{net.name}** · {what}\n\noutput **{shown}** · params **{params:,}** · MACs **{si(macs)}**"
            f" ({macs:,})" + ("" if len(picked) == 1 else "\n\nsummed over every op this line builds"))


def definition(analysis: Analysis, text: str, path: str | Path, line: int, column: int) -> SourceSpan | None:
    """Where the block, network or imported file under the cursor is defined."""
    program = analysis.program
    lines = text.splitlines()
    if 0 <= line < len(lines):
        m = re.match(r'\s*import\s+"([^"]*)"', lines[line])
        if m:
            target = Path(path).parent / m.group(1)
            if not target.suffix:
                target = target.with_suffix(".res")
            return SourceSpan(str(target), 1, 1, 1, 1) if target.is_file() else None
    if program is None:
        return None
    found = word_at(text, line, column)
    if found is None:
        return None
    word = found[0]
    for table in (program.blocks, program.networks):
        if word in table:
            return table[word].span
    return None


def completions(analysis: Analysis) -> list[tuple[str, str, str]]:
    """(label, kind, detail): blocks in scope, primitive ops, keywords."""
    from resdsl.elaborate.primitives import PRIMITIVES

    out = []
    if analysis.program is not None:
        for name, block in sorted(analysis.program.blocks.items()):
            params = ", ".join(p.name for p in getattr(block, "params", ()))
            out.append((name, "block", f"block {name}({params})  — {Path(block.span.file).name}"))
    for name, prim in sorted(PRIMITIVES.items()):
        out.append((name, "primitive", getattr(prim, "summary", "built-in op")))
    out += [(k, "keyword", "keyword") for k in KEYWORDS]
    return out
