"""The count report as text: `render_text` of the plain dict `resdsl.backends.count.report` builds.

Apart from the report so that printing a stored report (resdsl/reportcache.py) imports no IR: this
module reads only the dict (as `--json` prints it, so a report read back from JSON renders the same).
"""
from __future__ import annotations

from typing import Any

from resdsl.units import binary_bytes, si

WIDTH = 100  # the text report fits a 100-column terminal (a very long layer path may still overflow)


def render_text(data: dict[str, Any]) -> str:
    """The report as aligned text: a header with each convention named once, then the table."""
    lines = []
    shape_in = "x".join(map(str, data["input_shape"]))
    shape_out = "x".join(map(str, data["output_shape"]))
    lines.append(f"{data.get('title', data['name'])}: {shape_in} -> {shape_out}   batch {data['batch']}")
    lines.append("")
    lines.append(f"  params     {data['params']:>16,}   trainable; + {data['buffers']:,} buffer elements "
                 "(BN running stats)")
    lines.append(f"  MACs       {data['macs']:>16,}   {si(data['macs'])}   conv + fc multiply-accumulates")
    lines.append(f"  {'':27}   (the ResNet paper's \"FLOPs\", torchvision's \"GFLOPS\")")
    lines.append(f"  FLOPs      {data['flops']:>16,}   {si(data['flops'])}   = 2 x MACs "
                 "(torch.utils.flop_counter's convention)")
    other = ", ".join(f"{k} {si(v)}" for k, v in sorted(data["by_kind"].items(), key=lambda kv: -kv[1]))
    lines.extend(_wrapped("  other ops  ", f"{other or 'none'}   (element operations, not in MACs/FLOPs)"))
    m = data["memory"]
    lines.extend(_wrapped("  memory     ", f"params {binary_bytes(m['param_bytes_fp32'])} fp32; activations "
                 f"{binary_bytes(m['activation_bytes_fp32'])} in all; peak live "
                 f"{binary_bytes(m['peak_activation_bytes_fp32'])} fp32 / "
                 f"{binary_bytes(m['peak_activation_bytes_fp16'])} fp16 (at {m['peak_at']})"))
    if "aux_heads" in data:
        for i, h in enumerate(data["aux_heads"]):
            lines.append(f"  {'aux heads' if i == 0 else '':9}  {h['name']} after {h['after']} -> "
                         f"{'x'.join(map(str, h['output_shape']))}: {h['params']:,} params, {si(h['macs'])} MACs")
        fields = ", ".join(f["name"] for f in data["training_outputs"]["fields"])
        lines.append(f"             training only: params include them ({data['main_params']:,} without), MACs "
                     f"do not (a training pass: {si(data['training_macs'])});")
        lines.append(f"             training returns {data['training_outputs']['type']}({fields}), evaluation "
                     "the main output")
    for b in data["budgets"]:
        lines.append(f"  budget     {b['metric']} {b['op']} {si(b['limit'])}: {si(b['actual'])} "
                     f"({'ok' if b['ok'] else 'EXCEEDED'})")
    lines.append("")
    lines.extend(_table(data))
    return "\n".join(lines) + "\n"


def _wrapped(lead: str, text: str, width: int = WIDTH) -> list[str]:
    """`lead` + text wrapped at word boundaries to `width`, continuation lines under the text."""
    import textwrap

    return textwrap.wrap(text, width, initial_indent=lead, subsequent_indent=" " * len(lead),
                         break_long_words=False, break_on_hyphens=False) or [lead.rstrip()]


def _table(data: dict[str, Any]) -> list[str]:
    total_params = data["params"] or 1
    total_macs = data["macs"] or 1
    second = "op" if data["by"] == "layer" else "kind"
    header = [data["by"], second, "output", "params", "share", "MACs", "share"]
    body = []
    for row in data["rows"]:
        body.append([row.get("name", row["path"]), row[second], "x".join(map(str, row["output_shape"])),
                     f"{row['params']:,}",
                     f"{row['params'] / total_params:.1%}", si(row["macs"]), f"{row['macs'] / total_macs:.1%}"])
    heads = data.get("aux_heads", [])
    main_params = data.get("main_params", data["params"])
    total = ["total" if not heads else "total (inference)", "", "x".join(map(str, data["output_shape"])),
             f"{main_params:,}", f"{main_params / total_params:.1%}", si(data["macs"]), "100.0%"]
    head_rows = []  # the heads' MACs as a share of the inference pass they add to in training
    for head in heads:
        for row in head["rows"]:
            kind = row[second] if second == "op" or row[second] != "layers" else "aux head"
            head_rows.append([row.get("name", row["path"]), kind, "x".join(map(str, row["output_shape"])),
                              f"{row['params']:,}", f"{row['params'] / total_params:.1%}", si(row["macs"]),
                              f"+{row['macs'] / total_macs:.1%}"])
    training = ["total with aux heads (training)", "", "", f"{data['params']:,}", "100.0%",
                si(data.get("training_macs", data["macs"])), ""]
    every = [header, *body, total, *head_rows, *([training] if heads else [])]
    widths = [max(len(r[i]) for r in every) for i in range(len(header))]
    right = {3, 4, 5, 6}

    def fmt(r):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()

    rule = fmt(["-" * w for w in widths])
    out = [fmt(header), rule, *[fmt(r) for r in body], rule, fmt(total)]
    if heads:
        out += [*[fmt(r) for r in head_rows], rule, fmt(training)]
    return out
