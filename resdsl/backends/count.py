"""`resdsl count`: the checked network's figures as a report (no forward pass, no torch).

`report()` builds one plain dict (the documented `--json` object); `render_text()` prints it as a
table.  Every figure comes from the analyses already attached to the `Network`.
"""
from __future__ import annotations

from typing import Any

from resdsl.analysis.cost import element_kind
from resdsl.ir.graph import Graph, Node
from resdsl.network import Network
from resdsl.perf import gc_paused
from resdsl.backends.count_text import WIDTH, render_text  # noqa: F401 (the API: count.render_text)

CONVENTIONS = {
    "macs": "multiply-accumulates of conv, up-conv and fc layers, biases free (the ResNet paper's "
            "\"FLOPs\" column, torchvision's \"GFLOPS\")",
    "flops": "2 x MACs (torch.utils.flop_counter's convention)",
    "other_ops": "element operations of every other op, by kind: one per output element, a pool one per "
                 "window element; not in MACs or FLOPs",
    "params": "trainable parameters; BN running statistics are buffers, counted apart",
    "memory": "bytes; activations are every op output of one inference pass, peak = most bytes alive at "
              "once with each tensor freed after its last reader (no in-place ops); a max pool whose indices an "
              "unpool reads adds 8 bytes (int64) per output element",
}
# Added to the conventions of a network with aux heads.
AUX_CONVENTION = ("training-time side outputs: their parameters are in params, their MACs are not in macs "
                  "(an inference pass runs the main path alone); training_macs adds them")
LEVELS = ("stage", "block", "op", "layer")


def report(net: Network, batch: int = 1, by: str = "stage") -> dict[str, Any]:
    """The count report as a JSON-ready dict (documented in docs/counting.md)."""
    with gc_paused():  # a row per block: a burst of small acyclic objects, as elaboration's (resdsl/perf.py)
        return _report(net, batch, by)


def _report(net: Network, batch: int, by: str) -> dict[str, Any]:
    graph = net.graph
    memory = net.memory
    return {
        "command": "count",
        "ok": all(b.ok for b in net.budgets),
        "name": net.name,
        "title": net.title,
        "source": net.source,
        "input_shape": list(net.input_type.shape),
        "output_shape": list(net.output_type.shape),
        "batch": batch,
        "conventions": {**CONVENTIONS, "aux_heads": AUX_CONVENTION} if graph.heads else CONVENTIONS,
        "params": net.params,
        "trainable_params": net.params,
        "buffers": net.totals.buffers,
        "macs": net.macs * batch,
        "flops": net.flops * batch,
        "by_kind": {kind: count * batch for kind, count in net.totals.by_kind},
        "memory": {
            "param_bytes_fp32": 4 * net.params,
            "buffer_bytes_fp32": 4 * net.totals.buffers,
            "activation_bytes_fp32": memory.total_bytes(batch, 4),
            "peak_activation_bytes_fp32": memory.peak_bytes(batch, 4),
            "peak_activation_bytes_fp16": memory.peak_bytes(batch, 2),
            "peak_at": graph.nodes[memory.peak_step].path,
        },
        "budgets": [{"metric": b.limit.metric, "limit": b.limit.limit, "op": b.limit.op, "actual": b.actual,
                     "ok": b.ok} for b in net.budgets],
        "by": by,
        "rows": rows(net, by, batch),
        **_heads_report(net, by, batch),
    }


def _heads_report(net: Network, by: str, batch: int) -> dict[str, Any]:
    """`main_params`, `training_macs` and one entry per aux head (only for networks that have heads)."""
    graph = net.graph
    order = graph.training_outputs
    if order is None:
        return {}
    heads = []
    for i, (head, figures) in enumerate(zip(graph.heads, net.totals.heads)):
        heads.append({
            "name": head.name,
            "after": graph.nodes[head.source].stage,  # the top-level item whose output it reads
            "output_shape": list(graph.nodes[head.output].type.shape),
            "params": figures.params,
            "buffers": figures.buffers,
            "macs": figures.macs * batch,
            "flops": figures.flops * batch,
            "rows": rows(net, by, batch, head=i),
        })
    return {"main_params": net.totals.main_params, "training_macs": net.totals.training_macs * batch,
            "training_outputs": {"type": order.type_name,
                                 "fields": [{"name": f.name, "output": f.head or "main"} for f in order.fields]},
            "aux_heads": heads}


def _on(net: Network, head: int):
    """The (node, cost) pairs of the main path (head -1) or of aux head `head`, input left out."""
    graph = net.graph
    pairs = zip(graph.nodes[1:], net.costs[1:])
    if not graph.heads:
        return pairs
    owner = graph.head_of
    return ((node, cost) for node, cost in pairs if owner[node.id] == head)


def rows(net: Network, by: str, batch: int = 1, head: int = -1) -> list[dict[str, Any]]:
    """One row per stage, block or op, in network order: of the main path, or of aux head `head`."""
    graph = net.graph
    if by in ("op", "layer"):
        return _node_rows(net, by, batch, head)
    grouped: dict[str, dict[str, Any]] = {}
    by_scope: dict[tuple[int, str], dict[str, Any]] = {}  # every node of a scope groups alike
    # Sums are kept in locals over each run of nodes of one scope and stage, and added to the run's row
    # when it ends: this loop runs for every node.
    row: dict[str, Any] | None = None
    last_scope, last_stage = -1, None
    params = macs = other = 0
    out_type = None
    for node, cost in _on(net, head):
        if node.scope != last_scope or node.stage != last_stage:
            if row is not None:
                _add_run(row, out_type, params, macs * batch, other * batch)
            last_scope, last_stage = node.scope, node.stage
            row = by_scope.get((last_scope, last_stage))
            if row is None:
                key, kind = _group(graph, node, by)
                row = grouped.get(key)
                if row is None:
                    row = grouped[key] = _row(key, kind)
                by_scope[last_scope, last_stage] = row
            params = macs = other = 0
        out_type = node.type  # the last op of the group gives its output (a list below)
        params += cost.params
        macs += cost.macs
        other += cost.elementwise
    if row is not None:
        _add_run(row, out_type, params, macs * batch, other * batch)
    for row in grouped.values():
        row["output_shape"] = list(row["output_shape"].shape)
    return list(grouped.values())


def _add_run(row: dict[str, Any], out_type, params: int, macs: int, other: int) -> None:
    row["output_shape"] = out_type
    row["params"] += params
    row["macs"] += macs
    row["other_ops"] += other


def _node_rows(net: Network, by: str, batch: int, head: int = -1) -> list[dict[str, Any]]:
    """One row per op: its module path, a display name that says what an unlabelled op is
    (`layer1.0.relu` rather than the position `layer1.0.2`) and, per layer, the op itself."""
    names = display_names(net.graph)
    out = []
    for node, cost in _on(net, head):
        row = {"path": node.path, "name": names[node.id], "kind": element_kind(node),
               "output_shape": list(node.type.shape), "params": cost.params, "macs": cost.macs * batch,
               "other_ops": cost.elementwise * batch}
        if by == "layer":
            row["op"] = node.op.describe()
        out.append(row)
    return out


def display_names(graph: Graph) -> dict[int, str]:
    """Node id -> a readable name: the module path where the op is labelled, else its scope's path and
    what it is (`relu`; `relu_2` for the second unlabelled relu of the same scope).  Display only:
    module paths (state_dict keys) are unchanged."""
    names: dict[int, str] = {}
    taken: set[str] = {node.path for node in graph.nodes}
    seen: dict[tuple[str, str], int] = {}
    for node in graph.nodes[1:]:
        last = node.path.rpartition(".")[2]
        if not last.isdigit():
            names[node.id] = node.path
            continue
        prefix = node.path.rpartition(".")[0]
        kind = element_kind(node)
        n = seen[(prefix, kind)] = seen.get((prefix, kind), 0) + 1
        base = f"{prefix}.{kind}" if prefix else kind
        name = base if n == 1 else f"{base}_{n}"
        while name in taken:
            name += "_"
        taken.add(name)
        names[node.id] = name
    return names


def _row(path: str, kind: str) -> dict[str, Any]:
    return {"path": path, "kind": kind, "output_shape": None, "params": 0, "macs": 0, "other_ops": 0}


def _group(graph: Graph, node: Node, by: str) -> tuple[str, str]:
    if by == "block":
        for scope in graph.scope_chain(node.scope)[1:]:
            if scope.kind == "block":
                return scope.path, scope.block or "block"
        return node.stage, _stage_kind(graph, node)
    return node.stage, _stage_kind(graph, node)


def _stage_kind(graph: Graph, node: Node) -> str:
    """A stage row reports its block type (`bottleneck`); other stages are ops or groups."""
    for scope in graph.scope_chain(node.scope)[1:]:
        if scope.kind == "stage":
            return scope.block or "stage"
    return "layers"
