"""How a checked network shows itself: a one-line repr, Jupyter's rich display (the block-level
drawing as SVG where Graphviz's `dot` is installed, else the stage table as Markdown), and the
per-layer summary torchinfo users expect.  No torch; graphviz only when SVG is asked for."""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from typing import Any

from resdsl.units import si


def one_line(net) -> str:
    return (f"<Network {net.name}: {net.input_type} -> {net.output_type}, {net.params:,} params, "
            f"{si(net.macs)} MACs>")


def svg(net) -> str | None:
    """The block-level drawing as SVG text, or None where `dot` is missing (Jupyter then uses the
    next representation)."""
    if shutil.which("dot") is None:
        return None
    from resdsl.backends import graphviz as gv

    return gv.render(gv.to_dot([net], gv.DrawOptions(level="block")), "svg").decode("utf-8")


def markdown(net) -> str:
    """The header line and the per-stage table as Markdown."""
    from resdsl.backends.count import report

    data = report(net, by="stage")
    lines = [f"**{net.name}**: {net.input_type} → {net.output_type} · {net.params:,} params · "
             f"{si(net.macs)} MACs (conv + fc multiply-accumulates) · from `{net.source}`", "",
             "| stage | kind | output | params | MACs |", "|---|---|---|---:|---:|"]
    for row in data["rows"]:
        lines.append(f"| {row['path']} | {row['kind']} | {'x'.join(map(str, row['output_shape']))} | "
                     f"{row['params']:,} | {si(row['macs'])} |")
    lines.append(f"| **total** | | {net.output_type} | **{net.params:,}** | **{si(net.macs)}** |")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Summary:
    """`Network.summary()`: one row per layer (or stage/block/op), totals and the conventions line.
    Prints as the `resdsl count --by layer` table; `rows` and `report` hold the figures."""

    report: dict[str, Any]

    @property
    def rows(self) -> list[dict[str, Any]]:
        return self.report["rows"]

    def __str__(self) -> str:
        from resdsl.backends.count import render_text

        return render_text(self.report)

    __repr__ = __str__

    def _repr_markdown_(self) -> str:
        data = self.report
        first = data["by"]
        lines = [f"**{data['name']}** ({first} by {first}; MACs = conv + fc multiply-accumulates, "
                 "FLOPs = 2 × MACs)", "",
                 f"| {first} | op | output | params | MACs |", "|---|---|---|---:|---:|"]
        for row in self.rows:
            lines.append(f"| {row.get('name', row['path'])} | {row.get('op', row['kind'])} | "
                         f"{'x'.join(map(str, row['output_shape']))} | {row['params']:,} | {si(row['macs'])} |")
        lines.append(f"| **total** | | {'x'.join(map(str, data['output_shape']))} | **{data['params']:,}** | "
                     f"**{si(data['macs'])}** |")
        return "\n".join(lines) + "\n"


def summary(net, by: str = "layer", batch: int = 1) -> Summary:
    from resdsl.backends.count import report

    return Summary(report(net, batch=batch, by=by))
