"""`resdsl table FILE`: a paper's table beside our counts."""
from __future__ import annotations

import argparse
from pathlib import Path

from resdsl.cli import say, EXIT_OK, EXIT_SPEC, HelpFormatter, resolve_file

EPILOG = """\
examples:
  resdsl table specs/tables/resnet_cifar_table6.res
  resdsl table specs/tables/resnet_imagenet_table1.res

A published figure matches when our count, printed at the table's precision, equals it: rounded, or
truncated as some tables do (the match column says which).  *_exact cells must be equal.  Exit status
1 when a row that claims to reproduce its figures does not.
"""


def register(commands) -> None:
    p = commands.add_parser(
        "table", help="print a paper table beside our counts; fail if a claimed figure is not reproduced",
        description="Evaluate the `table` definitions of a spec file: for each row, our params and MACs, the "
                    "published figures, the difference, and whether ours matches at the printed precision.",
        epilog=EPILOG, formatter_class=HelpFormatter)
    p.add_argument("file", metavar="FILE", help="a .res file with one or more `table` definitions")
    p.add_argument("--json", action="store_true", help="print one JSON object (see docs/json.md)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from resdsl.tables import evaluate_file, render

    results = evaluate_file(resolve_file(args.file))
    ok = all(r.ok for r in results)
    if args.json:
        import json

        from resdsl.records import table_records

        say(json.dumps({"command": "table", "ok": ok, "tables": table_records(results)}, indent=2))
    else:
        say("\n".join(render(r) for r in results), end="")
    return EXIT_OK if ok else EXIT_SPEC
