"""JSON-ready records shared by every `--json` output (the schema is documented in docs/json.md).

Every command prints one JSON object with `"command"` and `"ok"`; figures are plain integers (params,
MACs at batch 1 unless a `batch` key says otherwise), shapes are lists `[C, H, W]`, and an error is
`{"ok": false, "exit_code": n, "errors": [diagnostic, ...]}`.
"""
from __future__ import annotations

from typing import Any

from resdsl.diagnostics import Diagnostic, ResdslError, SourceSpan


def span_record(span: SourceSpan) -> dict[str, Any]:
    return {"file": span.file, "line": span.line, "column": span.column, "end_line": span.end_line,
            "end_column": span.end_column}


def diagnostic_record(d: Diagnostic) -> dict[str, Any]:
    return {**span_record(d.span), "severity": "error", "message": d.message, "hint": d.hint,
            "notes": [{**span_record(span), "message": text} for span, text in d.notes]}


def error_record(command: str, err: ResdslError, exit_code: int) -> dict[str, Any]:
    return {"command": command, "ok": False, "exit_code": exit_code,
            "errors": [diagnostic_record(d) for d in err.diagnostics]}


def budget_records(net) -> list[dict[str, Any]]:
    return [{"metric": b.limit.metric, "op": b.limit.op, "limit": b.limit.limit, "actual": b.actual, "ok": b.ok}
            for b in net.budgets]


def network_record(net) -> dict[str, Any]:
    """The summary of one checked network (what `check --json` prints under "network")."""
    from resdsl.elaborate.values import show

    return {"name": net.name, "source": net.source, "input_shape": list(net.input_type.shape),
            "output_shape": list(net.output_type.shape), "params": net.params, "buffers": net.totals.buffers,
            "macs": net.macs, "flops": net.flops,
            "peak_activation_bytes_fp32": net.memory.peak_bytes(),
            "parameters": {k: _plain(v, show) for k, v in net.parameters}, "budgets": budget_records(net),
            **_heads(net)}


def _heads(net) -> dict[str, Any]:
    """For a network with aux heads: each head's output shape and parameters, and the training outputs."""
    order = net.graph.training_outputs
    if order is None:
        return {}
    return {"aux_heads": [{"name": h.name, "output_shape": list(net.graph.nodes[h.output].type.shape),
                           "params": t.params, "macs": t.macs} for h, t in zip(net.graph.heads, net.totals.heads)],
            "training_outputs": {"type": order.type_name,
                                 "fields": [{"name": f.name, "output": f.head or "main"} for f in order.fields]}}


def _plain(value: Any, show) -> Any:
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v, show) for v in value]
    return show(value)


def table_records(results) -> list[dict[str, Any]]:
    """Evaluated paper tables (`resdsl.tables.TableResult`s): every row with ours beside each published figure."""
    return [{"name": t.name, "title": t.title, "ok": t.ok,
             "rows": [{"row": r.name, "network": r.network, "params": r.params, "macs": r.macs,
                       "claims": r.claims, "ok": r.ok, "notes": dict(r.info),
                       "figures": [{"metric": f.metric, "published": f.text, "ours": f.ours, "exact": f.exact,
                                    "match": f.how} for f in r.figures]}
                      for r in t.rows]} for t in results]
