"""The verify pass: after elaboration, the invariants every back end relies on, as located errors.

  * every module path (layers, parameters and the scopes holding them) is unique;
  * every name on a module path is legal for `torch.nn.Module` and generated Python
    (`resdsl.ir.names.label_problem`: keywords, `forward`, `training`, `_modules`, non-identifier
    Unicode, names Python would read differently after NFKC normalisation);
  * nodes are in topological order (an internal invariant: a violation is a bug, not a spec error).

Labels written in the spec are already refused where they are made, at the label; this pass also
covers names made by resdsl itself or computed, so `compile` and `build` never meet a name `check`
let through.
"""
from __future__ import annotations

from resdsl.diagnostics import NameResolutionError, SourceSpan
from resdsl.ir.graph import Graph
from resdsl.ir.names import label_problem


def verify(graph: Graph) -> list[NameResolutionError]:
    errors: list[NameResolutionError] = []
    seen: dict[str, SourceSpan] = {}

    def claim(path: str, name: str, span: SourceSpan, what: str) -> None:
        problem = label_problem(name)
        if problem is not None:
            errors.append(NameResolutionError(f"{problem[0]} ({what} {path})", span, problem[1]))
        elif path in seen:
            errors.append(NameResolutionError(f"two parts of the network are both named '{path}'", span,
                                              "give one of them another label",
                                              notes=[(seen[path], "the other is here")]))
        seen.setdefault(path, span)

    for scope in graph.scopes[1:]:
        claim(scope.path, scope.name, scope.span, scope.kind)
    for node in graph.nodes:
        if any(i >= node.id for i in node.inputs):
            raise AssertionError(f"node {node.path} reads a later node: the graph is not in topological order")
        if node.op.is_layer:
            claim(node.path, node.name, node.span, "layer")
    return errors
