"""`resdsl plot A B ... -o chart.svg`: networks compared in one chart (needs the `plot` extra: matplotlib).

Without a table: MACs (x, log) against parameters (y, log), bubble area = peak activation memory.
With `--table FILE`: the Canziani et al. chart from our own counts: MACs (x) against a published figure
of each row (y: `--metric`, e.g. top1 accuracy or error), bubble area = parameters.
"""
from __future__ import annotations

import argparse
import importlib.util
import io
import math
from dataclasses import dataclass
from pathlib import Path

from resdsl.cli import EXIT_OK, HelpFormatter, load_from_args, resolve_file, say
from resdsl.diagnostics import SourceSpan, UsageError, did_you_mean

EPILOG = """\
examples:
  resdsl plot resnet18 resnet34 resnet50 resnet101 resnet152 densenet121 vgg16 -o chart.svg
  resdsl plot --table resnet_shortcut_options --metric top1 -o shortcuts.png
  resdsl plot --table specs/tables/resnet_cifar_table6.res --metric error -o cifar.svg

A table's rows are counted by resdsl (x: MACs, bubble: params); only the y value is the paper's.
"""

FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}
_SPAN = SourceSpan("resdsl", 0, 0, 0, 0)


@dataclass(frozen=True)
class Point:
    label: str
    macs: int
    y: float
    size: float


def register(commands) -> None:
    p = commands.add_parser(
        "plot", help="chart networks: MACs vs params (bubble: memory) or vs a table's published accuracy",
        description="Plot networks in one chart with matplotlib.  Specs: MACs against parameters, bubble "
                    "area the peak activation memory.  A table file (--table): MACs against a published "
                    "figure of each row, bubble area the parameters (the Canziani et al. chart).",
        epilog=EPILOG, formatter_class=HelpFormatter)
    p.add_argument("files", nargs="*", metavar="FILE", help="specs (paths or library names)")
    p.add_argument("--table", metavar="FILE", help="a table file: plot its rows against a published figure")
    p.add_argument("--metric", metavar="NAME",
                   help="the table cell on the y axis (default: the first numeric non-count cell, e.g. top1)")
    p.add_argument("--set", dest="overrides", metavar="NAME=VALUE", action="append", default=[],
                   help="override a parameter of every spec's network")
    p.add_argument("-o", "--output", metavar="OUT", default="chart.svg",
                   help="the chart: .svg, .png or .pdf (default chart.svg)")
    p.add_argument("--title", metavar="TEXT", help="the chart's title")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    output = Path(args.output)
    fmt = FORMATS.get(output.suffix.lower())
    if fmt is None:
        raise UsageError(f"cannot tell the chart format from '{output}'", SourceSpan("-o", 1, 1, 1, 1),
                         "name the output .svg, .png or .pdf")
    if not (output.parent if str(output.parent) else Path(".")).is_dir():
        raise UsageError(f"the directory of {output} does not exist", SourceSpan("-o", 1, 1, 1, 1))
    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError("resdsl plot needs matplotlib, which is not installed", _SPAN,
                         "pip install 'resdsl[plot]'  (or pip install matplotlib)")
    if not args.files and not args.table:
        raise UsageError("plot what? give spec files or --table FILE", _SPAN,
                         "resdsl plot resnet18 resnet50 -o chart.svg")
    if args.table and args.files:
        raise UsageError("give either spec files or --table, not both", _SPAN)
    if args.table:
        points, ylabel, size_label, title, log_y = _table_points(args)
    else:
        points = _spec_points(args)
        ylabel, size_label, title, log_y = "parameters", "peak activation memory (fp32, batch 1)", args.title, True
    if not points:
        raise UsageError("no row of the table has that figure", _SPAN)
    data = _draw(points, ylabel, size_label, title, fmt, log_y=log_y)
    from resdsl.backends.graphviz_render import write_atomic

    write_atomic(output, data)
    say(f"wrote {output} ({len(points)} networks)")
    return EXIT_OK


def _spec_points(args) -> list[Point]:
    points = []
    for name in args.files:
        ns = argparse.Namespace(file=name, network=None, overrides=args.overrides)
        net = load_from_args(ns)
        points.append(Point(net.name, net.macs, float(net.params),
                            float(net.memory.peak_bytes())))
    return points


def _table_points(args) -> tuple[list[Point], str, str, str | None, bool]:
    from resdsl.tables import METRICS, evaluate_file

    if args.overrides:
        raise UsageError("--set applies to spec files; a table's rows give their own parameters", _SPAN)
    results = evaluate_file(resolve_file(args.table))
    rows = [r for t in results for r in t.rows]
    cells: list[str] = []
    for r in rows:
        for k, v in r.info:
            if k not in cells and _number(v) is not None and k not in METRICS:
                cells.append(k)
    metric = args.metric or (cells[0] if cells else None)
    title = args.title or (results[0].title if len(results) == 1 and results[0].title else None)
    if args.metric is None and (metric is None or sum(_number(dict(r.info).get(metric, "")) is not None
                                                      for r in rows) < 2):
        # Nothing published to plot against (the Canziani paper prints its figures only as plots):
        # the rows' networks, MACs against our parameter counts.
        return [Point(r.name, r.macs, float(r.params), float(r.params)) for r in rows], "parameters", \
            "parameters", title, True
    if metric is None or metric not in cells:
        raise UsageError(f"the table has no numeric cell named {metric!r}" if metric else
                         "the table has no numeric cell to plot", _SPAN,
                         did_you_mean(metric or "", cells) or ("cells: " + ", ".join(cells) if cells else
                                                               "add one, e.g. top1=76.1"))
    points = []
    for r in rows:
        value = dict(r.info).get(metric)
        if value is None or _number(value) is None:
            continue  # a row without the figure (a "-" in the paper)
        points.append(Point(r.name, r.macs, _number(value), float(r.params)))
    return points, f"{metric} (published)", "parameters", title, False


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _label_rises(points: list[Point], log_y: bool) -> list[int]:
    """The vertical offset (points) of each bubble's label: a label that would print over an earlier one
    (AlexNet and BN-AlexNet sit almost on one spot) moves a line down per label already there."""
    def place(p: Point) -> tuple[float, float]:
        return math.log10(max(p.macs, 1)), math.log10(max(p.y, 1e-12)) if log_y else p.y

    where = [place(p) for p in points]
    xs, ys = [x for x, _ in where], [y for _, y in where]
    width, height = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0
    rises: list[int] = []
    for i, (x, y) in enumerate(where):
        crowd = sum(abs(x - where[j][0]) < 0.12 * width and abs(y - where[j][1]) < 0.04 * height for j in range(i))
        rises.append(6 - 11 * crowd)
    return rises


def _draw(points: list[Point], ylabel: str, size_label: str, title: str | None, fmt: str, log_y: bool) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from resdsl.units import binary_bytes, si

    fig = Figure(figsize=(8, 5.5), dpi=120)
    ax = fig.add_subplot()
    biggest = max(p.size for p in points) or 1.0
    colours = matplotlib.colormaps["tab20"]
    for i, (p, rise) in enumerate(zip(points, _label_rises(points, log_y))):
        area = 60 + 1800 * p.size / biggest
        ax.scatter(p.macs / 1e9, p.y, s=area, alpha=0.55, color=colours(i % 20), edgecolors="black", linewidths=0.6)
        ax.annotate(p.label, (p.macs / 1e9, p.y), xytext=(6, rise), textcoords="offset points", fontsize=8)
    from matplotlib.ticker import FuncFormatter, LogLocator

    ax.set_xscale("log")
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
    if log_y:
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: si(int(v)) if v >= 1 else f"{v:g}"))
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
    ax.set_xlabel("MACs per image, G (conv + fc multiply-accumulates, counted by resdsl)")
    ax.set_ylabel(ylabel + (", counted by resdsl" if ylabel == "parameters" else ""))
    shown = binary_bytes if "memory" in size_label else (lambda v: si(v))
    ax.set_title(title or "networks compared", fontsize=11)
    ax.text(0.01, 0.01, f"bubble area: {size_label} (largest {shown(int(biggest))})", transform=ax.transAxes,
            fontsize=8, va="bottom")
    ax.grid(True, which="both", alpha=0.25)
    ax.margins(0.15)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    return buffer.getvalue()
