"""`resdsl check FILE`: parse, elaborate and check; one summary line.

Every .res file is checkable: a network file checks its network; a table file checks every row (each
row's network elaborates, and rows that claim to reproduce their published figures do); a file of
blocks only checks that it parses and that every name in it resolves.
"""
from __future__ import annotations

import argparse
import json

from resdsl.cli import (say, EXIT_OK, EXIT_SPEC, _ARGV, HelpFormatter, add_spec_arguments, parse_overrides,
                        resolve_file)
from resdsl.diagnostics import MultipleErrors, ResdslError, UsageError


def register(commands) -> None:
    p = commands.add_parser(
        "check", formatter_class=HelpFormatter, help="parse, elaborate and check a spec; print a one-line summary",
        description="Parse, elaborate and check a spec: syntax, names, shapes, limits and budgets. "
                    "Prints one summary line and exits 0, or prints the errors found (every misspelt name, "
                    "every exceeded budget; elaboration stops at its first shape error) with their file, "
                    "line and column and exits 1 (2 for a wrong command line).  A table file checks every "
                    "row; a file of blocks only checks that they parse and their names resolve.")
    add_spec_arguments(p)
    p.add_argument("--json", action="store_true", help="print one JSON object (see docs/json.md)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from resdsl.pipeline import load_program

    program = load_program(resolve_file(args.file))
    if program.main_networks or args.network:
        return _check_network(args, program)
    if args.overrides:
        raise UsageError(f"--set applies to a network; {program.main_file} defines none", _ARGV,
                         "check a network file, or a table file without --set")
    if program.main_tables:
        return _check_tables(args, program)
    return _check_blocks(args, program)


def _check_network(args, program) -> int:
    from resdsl.pipeline import check_program
    from resdsl.records import network_record
    from resdsl.units import si

    net = check_program(program, args.network, parse_overrides(args.overrides))
    if args.json:
        say(json.dumps({"command": "check", "ok": True, "kind": "network", "network": network_record(net)},
                       indent=2))
        return EXIT_OK
    budgets = "" if not net.budgets else f"   budgets {sum(b.ok for b in net.budgets)}/{len(net.budgets)} met"
    macs = si(net.macs, space=" ")
    say(f"{net.title}: {net.input_type} -> {net.output_type}   params {net.params:,}   "
        f"MACs {macs}{budgets}{_heads(net)}   (ok)")
    return EXIT_OK


def _check_tables(args, program) -> int:
    from resdsl.tables import evaluate

    try:
        results = [evaluate(program, program.tables[name]) for name in program.main_tables]
    except ResdslError as err:  # attach the file texts so the row's line is quoted
        raise err.with_sources(program.sources) from None
    ok = all(r.ok for r in results)
    if args.json:
        from resdsl.records import table_records

        say(json.dumps({"command": "check", "ok": ok, "kind": "tables", "tables": table_records(results)},
                       indent=2))
        return EXIT_OK if ok else EXIT_SPEC
    from resdsl.tables import summary_line

    for t in results:
        failed = [r.name for r in t.rows if not r.ok]
        status = "(ok)" if not failed else f"(rows not reproduced: {', '.join(failed)})"
        say(f"table {t.name}: {len(t.rows)} rows check; {summary_line(t)}   {status}")
    return EXIT_OK if ok else EXIT_SPEC


def _check_blocks(args, program) -> int:
    from resdsl.elaborate.resolve import check_names

    unknown = check_names(program)
    if unknown:
        raise MultipleErrors.combine(unknown).with_sources(program.sources)
    mine = sorted(name for name, block in program.blocks.items() if block.span.file == program.main_file)
    if args.json:
        say(json.dumps({"command": "check", "ok": True, "kind": "blocks", "blocks": mine}, indent=2))
        return EXIT_OK
    if not mine:
        say(f"{program.main_file}: no network, table or block; nothing to check   (ok)")
    else:
        say(f"{program.main_file}: {len(mine)} block{'s' if len(mine) != 1 else ''} parse and resolve: "
            f"{', '.join(mine)}   (ok)")
    return EXIT_OK


def _heads(net) -> str:
    """`   aux heads aux1 -> 1000, aux2 -> 1000 (training returns GoogLeNetOutputs(logits, ...))`."""
    order = net.graph.training_outputs
    if order is None:
        return ""
    heads = ", ".join(f"{h.name} -> {net.graph.nodes[h.output].type}" for h in net.graph.heads)
    return f"   aux heads {heads} (training returns {order.type_name}({', '.join(order.names)}))"
