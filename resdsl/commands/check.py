"""`resdsl check FILE`: parse, elaborate and check; one summary line."""
from __future__ import annotations

import argparse

from resdsl.cli import say, EXIT_OK, HelpFormatter, add_spec_arguments, load_from_args


def register(commands) -> None:
    p = commands.add_parser(
        "check", formatter_class=HelpFormatter, help="parse, elaborate and check a spec; print a one-line summary",
        description="Parse, elaborate and check a spec: syntax, names, shapes, limits and budgets. "
                    "Prints one summary line and exits 0, or prints the errors found (every misspelt name, "
                    "every exceeded budget; elaboration stops at its first shape error) with their file, "
                    "line and column and exits 1 (2 for a wrong command line).")
    add_spec_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from resdsl.elaborate.values import show
    from resdsl.units import si

    net = load_from_args(args)
    budgets = "" if not net.budgets else f"   budgets {sum(b.ok for b in net.budgets)}/{len(net.budgets)} met"
    macs = si(net.macs, space=" ")
    given = {name for name, _ in (o.split("=", 1) for o in args.overrides)}
    shown = ", ".join(f"{k}={show(v)}" for k, v in net.parameters if k in given)
    name = f"{net.name} ({shown})" if shown else net.name
    say(f"{name}: {net.input_type} -> {net.output_type}   params {net.params:,}   "
          f"MACs {macs}{budgets}   (ok)")
    return EXIT_OK
