"""A static pass over every definition: unknown blocks and ops, reported all at once.

Elaboration stops at its first error; names can be checked without elaborating, so one run reports
every misspelt block in the file rather than one per run.
"""
from __future__ import annotations

import difflib
from typing import Iterator

from resdsl.diagnostics import NameResolutionError, SourceSpan, did_you_mean
from resdsl.elaborate.loader import Program
from resdsl.elaborate.primitives import PRIMITIVES
from resdsl.ir.names import class_name_problem
from resdsl.syntax import ast

BUILTIN_ITEMS = {"identity"}

# What other frameworks call our primitives (lower-case, underscores removed) -> our name.
FOREIGN_NAMES = {
    "batchnorm": "bn", "batchnorm2d": "bn", "bn2d": "bn", "conv2d": "conv", "convolution": "conv",
    "dense": "fc", "maxpool2d": "maxpool", "avgpool2d": "avgpool",
    "globalavgpool": "gap", "globalaveragepooling": "gap", "adaptiveavgpool2d": "adaptive_avgpool",
    "convtranspose2d": "upconv", "deconv": "upconv", "transposedconv": "upconv", "drop": "dropout",
    "stochasticdepth": "droppath", "cat": "concat", "sum": "add", "skip": "residual",
    "shortcut": "residual", "swish": "silu", "hswish": "hardswish", "hsigmoid": "hardsigmoid",
    "leaky": "leaky_relu", "lrelu": "leaky_relu", "layernorm2d": "layernorm", "ln": "layernorm",
    "groupnorm2d": "groupnorm", "gn": "groupnorm", "localresponsenorm": "lrn", "interpolate": "upsample",
    "upsampling": "upsample", "resize": "upsample", "shuffle": "channel_shuffle", "layerscale": "layer_scale",
}


def _suggest(name: str, known: set[str]) -> str | None:
    """A 'did you mean' that never steers silently to an op that computes something else.

    A spelling that differs only in case or underscores (`ReLU6`, `LeakyReLU`) or another framework's
    name (`BatchNorm2d`, `swish`) goes to that op.  Otherwise close names are offered with what each
    primitive computes, so `relu7` lists relu and relu6 with their meanings rather than
    suggesting one as if it were a typo."""
    norm = name.lower().replace("_", "")
    exact = [p for p in PRIMITIVES if p.replace("_", "") == norm]
    alias = exact[0] if exact else FOREIGN_NAMES.get(norm)
    close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)
    if alias is None and not any(c in PRIMITIVES for c in close):
        fuzzy = difflib.get_close_matches(norm, FOREIGN_NAMES, n=1, cutoff=0.8)  # `bacth_norm`
        alias = FOREIGN_NAMES[fuzzy[0]] if fuzzy else None
    if alias is not None:
        return f"did you mean '{alias}'?" + (f" ({PRIMITIVES[alias].summary})" if alias in PRIMITIVES else "")
    if not close:
        return None
    if not any(c in PRIMITIVES for c in close):
        return did_you_mean(name, close)
    swapped = [c for c in close if sorted(c) == sorted(name)]  # `rleu`: the letters of `relu`, transposed
    if swapped:
        close = swapped[:1]
    if len(close) == 1:
        return f"did you mean '{close[0]}'?" + (f" ({PRIMITIVES[close[0]].summary})" if close[0] in PRIMITIVES else "")
    described = [f"'{c}' ({PRIMITIVES[c].summary})" if c in PRIMITIVES else f"'{c}'" for c in close]
    return f"there is no op '{name}'; close names: " + "; ".join(described) + " — pick the one that computes what you mean"


def unknown_name_error(name: str, span, program: Program) -> NameResolutionError:
    known = set(PRIMITIVES) | set(program.blocks) | BUILTIN_ITEMS
    hint = _suggest(name, known) or "define it with `block NAME(...) { ... }` or import the file that does"
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


def check_definition_names(program: Program) -> list[NameResolutionError]:
    """Blocks and networks outside the prelude whose names cannot become Python classes (`none`)."""
    errors = []
    for definition in (*program.blocks.values(), *program.networks.values()):
        if definition.span.file in program.prelude_files:
            continue
        what = "network" if not isinstance(definition, ast.BlockDef) else "block"
        problem = class_name_problem(definition.name, what)
        if problem is not None:
            word = ("group" if definition.inline else "block") if what == "block" else "network"
            s = definition.span
            span = SourceSpan(s.file, s.line, s.column + len(word) + 1, s.line,
                              s.column + len(word) + 1 + len(definition.name))
            errors.append(NameResolutionError(problem[0], span, problem[1]))
    errors.sort(key=lambda e: (e.span.file, e.span.line, e.span.column))
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
    elif isinstance(node, ast.AuxHead):
        yield from _calls(node.item)
