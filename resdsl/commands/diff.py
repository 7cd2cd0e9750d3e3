"""`resdsl diff A B`: two networks stage by stage (params, MACs, activation memory) and the ops that differ."""
from __future__ import annotations

import argparse
import json

from resdsl.cli import EXIT_OK, HelpFormatter, add_spec_arguments, load_from_args, say

EPILOG = """\
examples:
  resdsl diff paper/plain34 paper/resnet34          # what the shortcuts add: projections and adds
  resdsl diff paper/resnet50 resnet50               # v1 (stride on the 1x1) vs torchvision's v1.5
  resdsl diff resnet20 resnet20 --compare-set depth=56
  resdsl diff resnet18 resnet34 --json              # docs/json.md

Stages are matched by name; ops are compared by what they are (`3x3 conv, 128, /2`), counted per stage.
"""


def register(commands) -> None:
    p = commands.add_parser(
        "diff", help="compare two networks: per-stage params/MACs/memory deltas and the ops that differ",
        description="Compare two checked networks: for every stage (matched by name) the parameters, MACs "
                    "and activation memory of each and the difference, then the ops that one has more "
                    "of than the other.",
        epilog=EPILOG, formatter_class=HelpFormatter)
    add_spec_arguments(p)
    p.add_argument("other", metavar="FILE2", help="the second spec (a path or a library name)")
    p.add_argument("--compare-network", metavar="NAME", help="the network to use where FILE2 defines several")
    p.add_argument("--compare-set", dest="compare_overrides", metavar="NAME=VALUE", action="append", default=[],
                   help="override a parameter of FILE2's network (--set applies to FILE's only)")
    p.add_argument("--json", action="store_true", help="print one JSON object (see docs/json.md)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from resdsl.backends.diff import diff, render_text

    a = load_from_args(args)
    b = load_from_args(argparse.Namespace(**{**vars(args), "file": args.other, "network": args.compare_network,
                                             "overrides": args.compare_overrides}))
    data = diff(a, b)
    if args.json:
        say(json.dumps(data, indent=2))
    else:
        say(render_text(data), end="")
    return EXIT_OK
