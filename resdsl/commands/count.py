"""`resdsl count FILE`: parameters, MACs, FLOPs, other ops and memory, analytically."""
from __future__ import annotations

import argparse
import json
import sys

from resdsl.cli import say, EXIT_OK, EXIT_SPEC, _ARGV, HelpFormatter, add_spec_arguments, parse_shape
from resdsl.diagnostics import UsageError

MAX_BATCH = 1 << 20
# resdsl.backends.count.LEVELS, repeated so that registering the command imports no back end (every
# command registers at start-up); a test keeps the two equal.
LEVELS = ("stage", "block", "op", "layer")

EPILOG = """\
examples:
  resdsl count specs/torchvision/resnet50.res
  resdsl count specs/torchvision/resnet50.res --by block
  resdsl count specs/cifar/resnet20.res --set depth=110 --batch 128
  resdsl count specs/torchvision/resnet50.res --input 3x160x160 --json

Conventions (each figure is labelled once in the header):
  MACs   multiply-accumulates of conv and fc layers (the ResNet paper's "FLOPs", torchvision's "GFLOPS")
  FLOPs  2 x MACs (torch.utils.flop_counter's convention)
  other  BN, ReLU, add, pooling, ... counted separately as element operations by kind
Nothing runs: no forward pass and no torch import.  See docs/counting.md.
"""


def register(commands) -> None:
    p = commands.add_parser(
        "count", help="count parameters, MACs, FLOPs and memory (no forward pass)",
        description="Count a network analytically: parameters, MACs and FLOPs (conventions labelled), other "
                    "ops by kind, parameter and activation memory with the peak live memory of an inference "
                    "pass, and a breakdown per stage, block or op with shares of the total.",
        epilog=EPILOG, formatter_class=HelpFormatter)
    add_spec_arguments(p)
    p.add_argument("--input", metavar="CxHxW", help="count at another input size, e.g. 3x160x160")
    p.add_argument("--batch", metavar="N", type=int, default=1,
                   help="batch size for MACs, FLOPs and activation memory (default 1)")
    p.add_argument("--by", choices=LEVELS, default="stage",
                   help="breakdown rows (default: stage); layer: every op with what it is, torchinfo-like")
    p.add_argument("--json", action="store_true", help="print one JSON object (see docs/counting.md)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from resdsl import netcache, reportcache
    from resdsl.backends.count_text import render_text
    from resdsl.cli import parse_overrides, resolve_file

    if args.batch < 1:
        raise UsageError(f"--batch must be at least 1, got {args.batch}", _ARGV)
    shape = parse_shape(args.input) if args.input else None
    if args.batch > MAX_BATCH:
        raise UsageError(f"--batch {args.batch:,} is past the limit of {MAX_BATCH:,}", _ARGV)
    path, overrides = resolve_file(args.file), parse_overrides(args.overrides)
    # A report stored by an earlier run of this very count (resdsl/reportcache.py): no IR is imported.
    keyed = netcache.key(path, args.network, overrides, shape, False)
    what = ("count", args.by, args.batch)
    stored = None if keyed is None else reportcache.lookup(keyed[0], what)
    if stored is not None:
        data, exceeded = stored
    else:
        data, exceeded, trace = _count(path, args.network, overrides, shape, args.by, args.batch)
        reportcache.store(trace, what, data, exceeded)
    if args.json:
        say(json.dumps(data, indent=2))
    else:
        say(render_text(data), end="")
    for line in exceeded:  # the figures are printed; the broken budgets still fail the command
        say(line, file=sys.stderr)
    return EXIT_SPEC if exceeded else EXIT_OK


def _count(path, network, overrides, shape, by: str, batch: int):
    """Load, check and count: (report data, budget error lines, the load's trace for the cache)."""
    from resdsl.backends.count import report
    from resdsl.pipeline import load_traced
    from resdsl.units import si

    net, trace = load_traced(path, network, overrides, None, shape, enforce_budgets=False)
    data = report(net, batch=batch, by=by)
    exceeded = [f"{b.limit.span}: error: {b.limit.metric} budget {b.limit.op} {si(b.limit.limit)} exceeded "
                f"({si(b.actual)})" for b in net.budgets if not b.ok]
    return data, exceeded, trace
