"""How things look: colours and styles per skip kind and per drawn node, number formats, labels.

Pure tables and pure functions; no Graphviz calls.  Colours are the Okabe-Ito palette, which stays
distinguishable under the common forms of colour blindness.
"""
from __future__ import annotations

from html import escape
from typing import Iterable, Mapping

from resdsl.ir import ops

FONT = "Helvetica"

GRAPH_ATTRS = {"fontname": FONT, "fontsize": "14", "labelloc": "t", "nodesep": "0.3",
               "ranksep": "0.35", "outputorder": "edgesfirst", "newrank": "true"}
NODE_ATTRS = {"fontname": FONT, "fontsize": "11", "shape": "box", "style": "rounded,filled",
              "fillcolor": "white", "color": "#444444", "margin": "0.12,0.05", "height": "0.3"}
EDGE_ATTRS = {"fontname": FONT, "fontsize": "9", "color": "#555555", "fontcolor": "#666666",
              "arrowsize": "0.7"}

# One entry per edge kind: attributes, and the words of the legend.
EDGE_STYLES: dict[str, dict[str, str]] = {
    # Heavy flow edges keep the main path straight; the skips bend around it.
    "flow":       {"weight": "4"},
    "identity":   {"color": "#0072B2", "fontcolor": "#0072B2", "penwidth": "2.2"},
    "zeropad":    {"color": "#009E73", "fontcolor": "#007A5A", "penwidth": "2.2"},
    "projection": {"color": "#D55E00", "fontcolor": "#B34E00", "penwidth": "2.2"},
    "gated":      {"color": "#CC79A7", "fontcolor": "#A8558A", "penwidth": "2", "style": "dashed"},
    "dense":      {"color": "#E69F00", "fontcolor": "#A87400", "penwidth": "1.6"},
    # U-Net bridges span the whole network: they must not pull the layout out of shape.
    "bridge":     {"color": "#56B4E9", "fontcolor": "#2D86BA", "penwidth": "2.4", "constraint": "false"},
    "scale":      {"color": "#7F7F00", "fontcolor": "#666600", "penwidth": "1.8", "style": "dotted"},
    # A training-time aux head hangs off the main path: light, so the main path stays straight.
    "aux":        {"color": "#999999", "fontcolor": "#777777", "penwidth": "1.4", "style": "dashed", "weight": "1"},
}
LEGEND_TEXT: dict[str, str] = {
    "flow": "data flow (tensor shape on the edge)",
    "identity": "identity shortcut",
    "zeropad": "zero-pad shortcut (option A, no parameters)",
    "projection": "projection shortcut (1x1 conv, options B/C)",
    "gated": "highway gate T and carry (1−T)",
    "dense": "dense connection (input concatenated)",
    "bridge": "crop & concatenate bridge",
    "scale": "scaled by the attention branch",
    "aux": "auxiliary head (a training-time side output)",
}
# Dashes drawn in the legend for each line style.
_LEGEND_GLYPH = {"solid": "━━━━", "dashed": "╺━ ╺━ ", "dotted": "• • • •"}

# Fill per op class: the eye finds the convs, pools and fully connected layers at a glance.
OP_FILLS: dict[type, str] = {
    ops.Input: "#E8E8E8",
    ops.Conv: "#DCEBFA",
    ops.ConvTranspose: "#D5F0F0",
    ops.Pool: "#E3F2DC",
    ops.AdaptivePool: "#E3F2DC",
    ops.Linear: "#EFE3F5",
    ops.Add: "#FFF3C4",
    ops.Concat: "#FFF3C4",
    ops.Mul: "#FFF3C4",
    ops.GatedSum: "#FFF3C4",
}
DEFAULT_FILL = "#F4F4F4"

# Attributes per drawn-node role.
CELL_STYLES: dict[str, dict[str, str]] = {
    "input": {},
    "op": {},
    "merge": {"shape": "ellipse", "style": "filled", "margin": "0.04,0.02"},
    "shortcut": {"fontsize": "10", "penwidth": "2"},
    "block": {"fillcolor": "#E4EDF9"},
    "stage": {"fillcolor": "#E4EDF9"},
}
REPEAT_STYLE = {"peripheries": "2"}   # a ×N block: drawn as a stack
CLUSTER_ATTRS = {"style": "rounded,filled", "fillcolor": "#F7F9FC", "color": "#9AA7B8", "fontsize": "12",
                 "labeljust": "l", "fontname": FONT}
GROUP_ATTRS = {"style": "rounded,dashed", "color": "#B8C2CF", "fontsize": "10",
               "labeljust": "l", "fontname": FONT, "fontcolor": "#667085"}
NETWORK_ATTRS = {"style": "rounded", "color": "#333333", "fontsize": "15", "labeljust": "c",
                 "fontname": FONT}


def fill_for(op_class: type) -> str:
    return OP_FILLS.get(op_class, DEFAULT_FILL)


def compact(value: int) -> str:
    """36864 -> '36.9K', 115605504 -> '115.6M'; below a thousand the number itself."""
    for scale, suffix in ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K")):
        if abs(value) >= scale:
            return f"{value / scale:.1f}{suffix}"
    return str(value)


def stats(shape: str | None, params: int, macs: int, suffix: str = "") -> str:
    """'64x56x56 · 36.9K params · 115.6M MACs', leaving out the counts that are zero."""
    parts = [shape] if shape else []
    if params:
        parts.append(f"{compact(params)} params")
    if macs:
        parts.append(f"{compact(macs)} MACs")
    return " · ".join(parts) + (suffix if parts and suffix else "")


def html_label(title: str, lines: Iterable[str] = (), detail: str = "", above: str = "") -> str:
    """A Graphviz HTML-like label: the title in bold (with what precedes it above), then smaller
    lines, then grey counts."""
    parts = [f'<font point-size="10">{escape(above)}</font>'] if above else []
    parts.append(f"<b>{escape(title)}</b>")
    parts.extend(f'<font point-size="10">{escape(line)}</font>' for line in lines if line)
    if detail:
        parts.append(f'<font point-size="9" color="#555555">{escape(detail)}</font>')
    return "<" + "<br/>".join(parts) + ">"


def edge_label(lines: Iterable[str]) -> str:
    """Lines of a plain edge label, joined with DOT's centred line break."""
    return "\\n".join(line.replace("\\", "\\\\") for line in lines if line)


def legend_label(kinds: Iterable[str], notes: Iterable[str]) -> str:
    rows = ['<tr><td colspan="2"><b>legend</b></td></tr>']
    for kind in kinds:
        style = EDGE_STYLES[kind]
        glyph = _LEGEND_GLYPH[style.get("style", "solid")]
        color = style.get("color", EDGE_ATTRS["color"])
        rows.append(f'<tr><td align="left"><font color="{color}">{glyph}▶</font></td>'
                    f'<td align="left">{escape(LEGEND_TEXT[kind])}</td></tr>')
    for note in notes:
        rows.append(f'<tr><td colspan="2" align="left"><font point-size="9">{escape(note)}</font></td></tr>')
    return ('<<table border="1" color="#9AA7B8" cellborder="0" cellspacing="1" cellpadding="2" '
            'bgcolor="white">' + "".join(rows) + "</table>>")


def merged(*styles: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for style in styles:
        out.update(style)
    return out
