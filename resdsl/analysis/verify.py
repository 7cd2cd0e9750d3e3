"""The verify pass: after elaboration, the invariants every back end relies on, as located errors.

  * every module path (layers, parameters and the scopes holding them) is unique;
  * every name on a module path is legal for `torch.nn.Module` and generated Python
    (`resdsl.ir.names.label_problem`: keywords, `forward`, `training`, `_modules`, non-identifier
    Unicode, names Python would read differently after NFKC normalisation);
  * nodes are in topological order (an internal invariant: a violation is a bug, not a spec error);
  * aux heads are side branches: each a contiguous run of nodes that reads the main path before it and
    that nothing outside it reads (internal invariants too), and the names of the outputs training
    returns are legal named-tuple fields;
  * the joins with global drop-path share one probability (one draw per mini-batch for the network).

Labels written in the spec are already refused where they are made, at the label; this pass also
covers names made by resdsl itself or computed, so `compile` and `build` never meet a name `check`
let through.
"""
from __future__ import annotations

from resdsl.diagnostics import NameResolutionError, ResdslError, ShapeError, SourceSpan
from resdsl.ir import ops
from resdsl.ir.graph import Graph
from resdsl.ir.heads import OutputOrder
from resdsl.ir.names import field_name_problem, label_problem


def verify(graph: Graph) -> list[ResdslError]:
    nodes = graph.nodes
    late = [node for node in nodes if node.inputs and max(node.inputs) >= node.id]
    if late:
        raise AssertionError(f"node {late[0].path} reads a later node: the graph is not in topological order")
    layers = [node for node in nodes if node.op.is_layer]
    scopes = graph.scopes[1:]
    # Whole-graph checks first (a large network repeats few names, and sets are built in C); only a
    # network that fails them is walked part by part, for located errors in network order.
    paths = [s.path for s in scopes]
    paths += [node.path for node in layers]
    names = {s.name for s in scopes} | {node.name for node in layers}
    if len(set(paths)) == len(paths) and all(label_problem(name) is None for name in names):
        errors: list[ResdslError] = []
    else:
        errors = _name_errors(scopes, layers)
    errors.extend(_verify_heads(graph))
    errors.extend(_global_drop_path(graph))
    return errors


def _name_errors(scopes, layers) -> list[ResdslError]:
    errors: list[ResdslError] = []
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

    for scope in scopes:
        claim(scope.path, scope.name, scope.span, scope.kind)
    for node in layers:
        claim(node.path, node.name, node.span, "layer")
    return errors


def _verify_heads(graph: Graph) -> list[NameResolutionError]:
    owner = graph.head_of
    if owner[graph.output] != -1:
        raise AssertionError("the main output lies inside an aux head")
    for head in graph.heads:
        if not (head.source < head.first <= head.output <= head.last) or owner[head.source] != -1:
            raise AssertionError(f"aux head {head.name} is not a side branch of the main path")
    for node in graph.nodes if graph.heads else ():  # (without heads every owner is -1)
        for i in node.inputs:
            if owner[i] != -1 and owner[i] != owner[node.id]:
                raise AssertionError(f"node {node.path} reads {graph.nodes[i].path} of aux head "
                                     f"{graph.heads[owner[i]].name}")
    order = graph.training_outputs
    if order is None:
        return []
    errors = []
    span = order.span or graph.heads[0].span
    for what, name in (("type", order.type_name), *(("field", f.name) for f in order.fields)):
        problem = field_name_problem(name, what)
        if problem is not None:
            where = span if order.span is not None else _head_span(graph, order, name)
            errors.append(NameResolutionError(problem[0], where, problem[1]))
    return errors


def _head_span(graph: Graph, order: OutputOrder, field: str) -> SourceSpan:
    head = next((h for h in graph.heads if h.name == field), graph.heads[0])
    return head.span


def _global_drop_path(graph: Graph) -> list[ResdslError]:
    """One global draw per mini-batch serves every join: they must agree on its probability."""
    joins = [n for n in graph.nodes if isinstance(n.op, ops.Mean) and n.op.global_drop]
    if not joins:
        return []
    first = joins[0]
    return [ShapeError(f"this join's global drop-path is {n.op.global_drop:g}, another's is {first.op.global_drop:g}",
                       n.span, "one column is drawn for the whole network: give every join the same global=",
                       notes=[(first.span, f"global={first.op.global_drop:g} here")])
            for n in joins[1:] if n.op.global_drop != first.op.global_drop][:1]
