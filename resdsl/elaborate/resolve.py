"""A static pass over every definition: unknown blocks and ops, reported all at once.

Elaboration stops at its first error; names can be checked without elaborating, so one run reports
every misspelt block in the file rather than one per run.
"""
from __future__ import annotations

import difflib
from typing import Iterator

from resdsl.diagnostics import NameResolutionError, did_you_mean
from resdsl.elaborate.loader import Program
from resdsl.elaborate.primitives import PRIMITIVES
from resdsl.syntax import ast

BUILTIN_ITEMS = {"identity"}

# What other frameworks call our primitives (lower-case, underscores removed) -> our name.
FOREIGN_NAMES = {
    "batchnorm": "bn", "batchnorm2d": "bn", "bn2d": "bn", "conv2d": "conv", "convolution": "conv",
    "dense": "fc", "maxpool2d": "maxpool", "avgpool2d": "avgpool",
    "globalavgpool": "gap", "globalaveragepooling": "gap", "adaptiveavgpool2d": "adaptive_avgpool",
    "convtranspose2d": "upconv", "deconv": "upconv", "transposedconv": "upconv", "drop": "dropout",
    "stochasticdepth": "droppath", "cat": "concat", "sum": "add", "skip": "residual",
    "shortcut": "residual",
}


def unknown_name_error(name: str, span, program: Program) -> NameResolutionError:
    known = set(PRIMITIVES) | set(program.blocks) | BUILTIN_ITEMS
    norm = name.lower().replace("_", "")
    close = difflib.get_close_matches(norm, FOREIGN_NAMES, n=1, cutoff=0.8)
    alias = FOREIGN_NAMES.get(norm) or (FOREIGN_NAMES[close[0]] if close else None)
    hint = (f"did you mean '{alias}'?" if alias else did_you_mean(name, known)) or \
        "define it with `block NAME(...) { ... }` or import the file that does"
    return NameResolutionError(f"unknown block or op '{name}'", span, hint)


def check_names(program: Program) -> list[NameResolutionError]:
    """Unknown calls in every definition outside the prelude, in source order."""
    errors = []
    definitions = [d for d in (*program.blocks.values(), *program.networks.values())
                   if d.span.file not in program.prelude_files]
    definitions.sort(key=lambda d: (d.span.file, d.span.line, d.span.column))
    for definition in definitions:
        body = getattr(definition, "body", None)
        if body is None:
            continue
        for call in _calls(body):
            if call.name not in PRIMITIVES and call.name not in program.blocks and call.name not in BUILTIN_ITEMS:
                errors.append(unknown_name_error(call.name, call.name_span, program))
    return errors


def _calls(node) -> Iterator[ast.Call]:
    """Every item call (not stage headers: those name blocks and are checked when used)."""
    if isinstance(node, ast.Body):
        for stmt in node.statements:
            yield from _calls(stmt)
    elif isinstance(node, ast.Chain):
        for element in node.elements:
            yield from _calls(element)
    elif isinstance(node, ast.Labelled):
        yield from _calls(node.item)
    elif isinstance(node, ast.Call):
        yield node
    elif isinstance(node, (ast.Group, ast.Merge, ast.Residual, ast.For)):  # noqa: SIM114
        yield from _calls(node.body)
    elif isinstance(node, ast.If):
        yield from _calls(node.then)
        if node.otherwise is not None:
            yield from _calls(node.otherwise)
    elif isinstance(node, ast.Section):
        yield from _calls(node.chain)
