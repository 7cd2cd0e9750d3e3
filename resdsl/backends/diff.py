"""Two checked networks compared stage by stage: params, MACs and activation memory with their deltas,
and the ops one has and the other lacks (counted by what they are: `3x3 conv, 128, /2`, `+`).

Stages are paired by position when both networks have as many (`conv2_x` with `layer1`), else matched
by name in the order of the first network, then the second's own; ops are compared
as multisets of `Op.describe()` per stage, so a moved stride (ResNet-50 v1 vs v1.5) or an added
projection shortcut (plain-34 vs ResNet-34) shows as the lines that differ.  No torch, no graphviz.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from resdsl.network import Network
from resdsl.units import binary_bytes, si


def _stage_figures(net: Network) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {s: {"params": 0, "macs": 0, "activation_bytes": 0}
                                      for s in net.graph.stages}
    for node, cost in zip(net.graph.nodes[1:], net.costs[1:]):
        row = out[node.stage]
        row["params"] += cost.params
        row["macs"] += cost.macs
        row["activation_bytes"] += 4 * node.type.numel
    return out


def _ops(net: Network) -> dict[str, tuple[Counter, dict[str, str]]]:
    from resdsl.backends.count import display_names

    names = display_names(net.graph)
    out: dict[str, tuple[Counter, dict[str, str]]] = {}
    for node in net.graph.nodes[1:]:
        counts, example = out.setdefault(node.stage, (Counter(), {}))
        what = node.op.describe()
        if not any(ch.isalnum() for ch in what):    # `+`, `||`: say what the op is
            what = f"{node.op.kind} ({what})"
        counts[what] += 1
        example.setdefault(what, names[node.id])
    return out


def _pairs(a: Network, b: Network) -> list[tuple[str | None, str | None]]:
    sa, sb = list(a.graph.stages), list(b.graph.stages)
    if len(sa) == len(sb):
        return list(zip(sa, sb))
    return [(s, s if s in sb else None) for s in sa] + [(None, s) for s in sb if s not in sa]


def diff(a: Network, b: Network) -> dict[str, Any]:
    """The comparison as a JSON-ready dict (documented in docs/json.md)."""
    fa, fb = _stage_figures(a), _stage_figures(b)
    zero = {"params": 0, "macs": 0, "activation_bytes": 0}
    pairs = _pairs(a, b)
    rows = []
    for x_name, y_name in pairs:
        x, y = fa.get(x_name, zero), fb.get(y_name, zero)
        label = x_name if y_name in (None, x_name) else (y_name if x_name is None else f"{x_name} / {y_name}")
        rows.append({"stage": label, "stage_a": x_name, "stage_b": y_name,
                     "a": x, "b": y, "delta": {k: y[k] - x[k] for k in x}})
    oa, ob = _ops(a), _ops(b)
    ops = []
    for (x_name, y_name), row in zip(pairs, rows):
        stage = row["stage"]
        ca, ea = oa.get(x_name, (Counter(), {}))
        cb, eb = ob.get(y_name, (Counter(), {}))
        for what in list(ca) + [w for w in cb if w not in ca]:
            if ca[what] != cb[what]:
                ops.append({"stage": stage, "op": what, "a": ca[what], "b": cb[what],
                            "example": eb.get(what) if cb[what] > ca[what] else ea.get(what)})

    def total(net):
        return {"name": net.name, "source": net.source, "input_shape": list(net.input_type.shape),
                "output_shape": list(net.output_type.shape), "params": net.params, "macs": net.macs,
                "peak_activation_bytes_fp32": net.memory.peak_bytes()}

    ta, tb = total(a), total(b)
    return {"command": "diff", "ok": True, "a": ta, "b": tb,
            "delta": {k: tb[k] - ta[k] for k in ("params", "macs", "peak_activation_bytes_fp32")},
            "stages": rows, "ops": ops}


def _signed(value: int, fmt) -> str:
    if value == 0:
        return "0"
    return ("+" if value > 0 else "-") + fmt(abs(value))


def render_text(data: dict[str, Any]) -> str:
    a, b = data["a"], data["b"]
    lines = [f"A = {a['name']} ({a['source']})", f"B = {b['name']} ({b['source']})", ""]
    header = ["stage", "params A", "params B", "Δ", "MACs A", "MACs B", "Δ", "act. A", "act. B", "Δ"]
    body = []
    for r in data["stages"]:
        x, y, d = r["a"], r["b"], r["delta"]
        only = "" if r["stage_a"] and r["stage_b"] else (" (only A)" if r["stage_a"] else " (only B)")
        body.append([r["stage"] + only,
                     si(x["params"]), si(y["params"]), _signed(d["params"], si),
                     si(x["macs"]), si(y["macs"]), _signed(d["macs"], si),
                     binary_bytes(x["activation_bytes"]), binary_bytes(y["activation_bytes"]),
                     _signed(d["activation_bytes"], binary_bytes)])
    d = data["delta"]
    body.append(["total", si(a["params"]), si(b["params"]), _signed(d["params"], si), si(a["macs"]),
                 si(b["macs"]), _signed(d["macs"], si), "", "", ""])
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]

    def fmt(row):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()

    rule = fmt(["-" * w for w in widths])
    lines += [fmt(header), rule, *map(fmt, body[:-1]), rule, fmt(body[-1]), ""]
    lines.append(f"params exact: A {a['params']:,}  B {b['params']:,}  ({_signed(d['params'], lambda v: f'{v:,}')}); "
                 f"act. = fp32 bytes of every op output in the stage, batch 1")
    lines.append("")
    if not data["ops"]:
        lines.append("ops: the same in every stage")
    else:
        lines.append("ops that differ (count in A -> count in B, an example path):")
        for o in data["ops"]:
            sign = "+" if o["b"] > o["a"] else "-"
            lines.append(f"  {sign} {o['stage']}: {o['op']}  {o['a']} -> {o['b']}   ({o['example']})")
    return "\n".join(lines) + "\n"
