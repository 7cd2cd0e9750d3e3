"""`resdsl draw FILE [FILE2]`: a Graphviz diagram of a network (or two side by side), skips drawn apart."""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from resdsl.cli import say, EXIT_OK, HelpFormatter, add_spec_arguments, load_from_args
from resdsl.diagnostics import SourceSpan, UsageError
from resdsl.outputs import check_output

_LEVELS = ("stage", "block", "op")  # repeated from graphviz_view so --help does not import graphviz


def register(commands) -> None:
    p = commands.add_parser(
        "draw", help="draw the network with Graphviz: SVG, PNG, PDF or DOT",
        formatter_class=HelpFormatter,
        description="Draw a checked network with Graphviz.  Skip connections are drawn apart by kind "
                    "(identity, zero-pad, projection, highway gate, dense, U-Net crop & concat) and "
                    "explained in a legend; nodes show what they are, their output shape, params and "
                    "MACs; edges carry tensor shapes.\n\n"
                    "examples:\n"
                    "  resdsl draw specs/torchvision/resnet50.res                 # resnet50.svg\n"
                    "  resdsl draw specs/cifar/resnet20.res --level op -o r20.png\n"
                    "  resdsl draw specs/paper/plain34.res specs/paper/resnet34_A.res -o fig3.svg\n"
                    "  resdsl draw specs/other/unet.res -o -                     # DOT on stdout\n"
                    "  resdsl draw resnet34 --expand --fit 16:9 -o slide.png      # wrapped to fit a slide")
    add_spec_arguments(p)
    p.add_argument("other", nargs="?", metavar="FILE2",
                   help="a second spec, drawn beside the first (the same as --compare FILE2)")
    p.add_argument("--compare", metavar="FILE2", help="draw this spec's network beside the first one")
    p.add_argument("--compare-network", metavar="NAME", help="the network to use where FILE2 defines several")
    p.add_argument("--compare-set", dest="compare_overrides", metavar="NAME=VALUE", action="append", default=[],
                   help="override a parameter of FILE2's network (--set applies to FILE's only)")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="the file to write: .svg, .png, .pdf (rendered with Graphviz's dot) or .dot "
                        "(the source, needs no Graphviz); '-' prints DOT on stdout "
                        "(default: NETWORK.svg in the current directory)")
    p.add_argument("--level", choices=_LEVELS, default="block",
                   help="stage: one node per stage; block: one per block, identical neighbours "
                        "collapsed to ×N; op: every op, BN/ReLU folded into their conv (default: block)")
    p.add_argument("--rankdir", choices=("TB", "LR"), default="TB", type=str.upper,
                   help="top to bottom (TB, default) or left to right (LR)")
    p.add_argument("--expand", action="store_true", help="draw every block instead of collapsing runs to ×N")
    shape = p.add_mutually_exclusive_group()
    shape.add_argument("--fit", metavar="W:H", type=_aspect,
                       help="wrap a long drawing into columns side by side (rows with --rankdir LR) so it comes "
                            "out nearest this aspect ratio, e.g. 16:9 for a slide (measured with dot)")
    shape.add_argument("--columns", metavar="N", type=_positive, default=1,
                       help="wrap the drawing into N columns (rows with --rankdir LR), cut between blocks "
                            "where the fewest edges cross (default: 1)")
    p.add_argument("--max-nodes", metavar="N", type=int, default=None,
                   help="draw at most N nodes: the most detailed drawing that fits, collapsing the deepest "
                        "scopes first (op -> block --expand -> block -> stage).  Without it, a drawing "
                        "Graphviz would take more than a few seconds to lay out is refused before dot "
                        "runs, with the options that fit")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from resdsl.backends.graphviz import DrawOptions, draw, emit, fit_columns, views
    from resdsl.backends.graphviz_render import format_for, require_dot

    second = _second_file(args)
    # Check the output before the (slower) load, so a wrong -o fails at once.
    output = None if args.output in (None, "-") else Path(args.output)
    if output is not None:
        check_output(output, [args.file])  # a device or a pipe: refused before anything else
        require_dot(format_for(output))
    networks = [load_from_args(args)]
    if second is not None:
        other = argparse.Namespace(**{**vars(args), "file": second, "network": args.compare_network,
                                      "overrides": args.compare_overrides})
        networks.append(load_from_args(other))
    options = DrawOptions(level=args.level, rankdir=args.rankdir, expand=args.expand, max_nodes=args.max_nodes,
                          columns=args.columns)
    inputs = [*(f for net in networks for f in net.inputs), args.file, *([second] if second else [])]
    if output is not None:
        check_output(output, inputs)
    drawn = views(networks, options)
    if args.fit is not None:
        require_dot("plain")  # the fit is measured on a layout
        options = replace(options, columns=fit_columns(drawn, options.rankdir, args.fit))
    if args.output == "-":
        sys.stdout.write(emit(drawn, options.rankdir, options.columns))
        return EXIT_OK
    if output is None:
        output = Path("_vs_".join(net.name for net in networks) + ".svg")
        require_dot(format_for(output))
        check_output(output, inputs)
    try:
        draw(networks, output, options, drawn)
    except OSError as err:
        raise UsageError(f"cannot write {output}: {err.strerror or err}", SourceSpan("-o", 1, 1, 1, 1),
                         "check that the directory exists and is writable") from None
    wrapped = f", {options.columns} columns" if options.columns > 1 else ""
    level = f"{drawn[0].level} level{wrapped}" + (f", collapsed from {args.level} level to fit --max-nodes {args.max_nodes:,}"
                                         if drawn[0].level != args.level else "")
    say(f"{' vs '.join(net.name for net in networks)}: wrote {output} ({level})")
    return EXIT_OK


def _aspect(text: str) -> float:
    from resdsl.backends.graphviz_wrap import parse_aspect

    try:
        return parse_aspect(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of columns, at least 1 (got {text!r})")
    return int(text)


def _second_file(args: argparse.Namespace) -> str | None:
    if args.other and args.compare:
        raise UsageError("give the second spec once: as FILE2 or as --compare FILE2, not both",
                         SourceSpan("--compare", 1, 1, 1, 1))
    second = args.other or args.compare
    if second is None and (args.compare_network or args.compare_overrides):
        raise UsageError("--compare-network and --compare-set need a second spec",
                         SourceSpan("--compare", 1, 1, 1, 1), "resdsl draw A.res B.res --compare-set depth=56")
    return second
