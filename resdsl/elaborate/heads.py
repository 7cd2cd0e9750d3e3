"""Auxiliary heads and the outputs statement: `aux NAME: ITEM` and `outputs Type(field=source, ...)`.

`aux aux1: googlenet_aux(classes)` elaborates its item from the value the main path has at that
line, in a scope (or layer) named `aux1` that reports as a stage of its own; the main path goes on
from the same value, so the next line reads what the head read.  The head sees the tensors labelled
before it but labels nothing outside: nothing of the main path can read a head.  `aux aux1 @x: ...`
reads the main path's tensor `x` (labelled earlier) instead of the current value: the head's modules
come where the line stands (torchvision's GoogLeNet registers aux1 and aux2 after inception5b).

`outputs GoogLeNetOutputs(logits=main, aux_logits2=aux2, aux_logits1=aux1)` says what training
returns: a named tuple with these fields in this order, `main` being the main output.  Without it,
training returns `Outputs(main, <heads in declaration order>)`.  Evaluation always returns the main
output alone, as torchvision's models do.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from resdsl.diagnostics import NameResolutionError, SpecSyntaxError, StructureError
from resdsl.elaborate.state import Frame
from resdsl.elaborate.values import Evaluator, Parts, TensorRef
from resdsl.ir.heads import MAIN, AuxHead, OutputField, OutputOrder
from resdsl.syntax import ast

if TYPE_CHECKING:
    from resdsl.elaborate.elaborator import Elaborator


def aux_head(elab: "Elaborator", stmt: ast.AuxHead, frame: Frame, flow: TensorRef) -> TensorRef:
    """Elaborate the head off `flow`; returns `flow` (the main path is unchanged)."""
    if frame.scope != 0 or not frame.stage_level:
        raise SpecSyntaxError("an aux head branches off the network's main path: `aux` belongs at the top level "
                              "of a network (an `if` or `for` there is fine)", stmt.span,
                              "write the head as a block and attach it in the network: `aux aux1: my_head(classes)`")
    name = elab._label(stmt.label, frame)
    if name == MAIN:
        raise NameResolutionError(f"'{MAIN}' names the main output in `outputs`; an aux head needs another name",
                                  stmt.label.span, "call it aux1, say")
    builder = elab.state.builder
    source = flow if stmt.source is None else Evaluator(frame.env, frame.tensors).tensor(stmt.source,
                                                                                        stmt.source_span)
    first = len(builder.nodes)
    elab._enter_stage(name, source)
    head = Frame(frame.scope, frame.env, dict(frame.tensors), name)  # its labels stay inside it
    out = elab._item(stmt.item, head, source, name)
    if isinstance(out, Parts):
        raise StructureError(f"aux head {name} ends in the parts of a split", stmt.span,
                         "follow the split with a merge inside the head")
    if out.node < first:
        raise StructureError(f"aux head {name} computes nothing: it returns a value of the main path", stmt.span,
                         "an aux head is a block or ops ending in its output, like `aux aux1: { gap, fc 10 }`")
    elab.state.heads.append(AuxHead(name, source.node, first, len(builder.nodes) - 1, out.node, stmt.span))
    return flow


def outputs_statement(elab: "Elaborator", stmt: ast.Outputs, frame: Frame) -> None:
    if frame.scope != 0 or not frame.stage_level:
        raise SpecSyntaxError("`outputs` belongs at the top of a network", stmt.span, "move it out of the block")
    if elab.state.outputs is not None:
        raise SpecSyntaxError("the outputs are given twice", stmt.span, "keep one `outputs` statement",
                              notes=[(elab.state.outputs.span, "first given here")])
    elab.state.outputs = stmt


def output_order(stmt: ast.Outputs | None, heads: list[AuxHead]) -> OutputOrder | None:
    """The checked `outputs` statement: every field named once, `main` and every head exactly once."""
    if stmt is None:
        return None
    known = {h.name for h in heads}
    fields: list[OutputField] = []
    seen_fields: dict[str, ast.OutputField] = {}
    seen_sources: dict[str, ast.OutputField] = {}
    for field in stmt.fields:
        if field.name in seen_fields:
            raise NameResolutionError(f"the outputs have two fields named '{field.name}'", field.span,
                                      "give each field its own name",
                                      notes=[(seen_fields[field.name].span, "the other is here")])
        if field.source != MAIN and field.source not in known:
            listed = ", ".join([MAIN, *sorted(known)])
            raise NameResolutionError(f"'{field.source}' is not an output of this network", field.span,
                                      f"a field returns `{MAIN}` or an aux head: {listed}")
        if field.source in seen_sources:
            raise NameResolutionError(f"'{field.source}' is returned twice", field.span,
                                      "return each output once",
                                      notes=[(seen_sources[field.source].span, "first returned here")])
        seen_fields[field.name] = field
        seen_sources[field.source] = field
        fields.append(OutputField(field.name, None if field.source == MAIN else field.source))
    missing = [MAIN] * (MAIN not in seen_sources) + [h.name for h in heads if h.name not in seen_sources]
    if missing:
        raise NameResolutionError(f"the outputs leave out {', '.join(missing)}", stmt.span,
                                  "list the main output and every aux head once: "
                                  f"`outputs {stmt.type_name}(logits={MAIN}, ...)`; an `if` around the "
                                  "statement can follow the one around the heads")
    return OutputOrder(stmt.type_name, tuple(fields), stmt.span)

