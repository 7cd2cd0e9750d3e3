"""`resdsl fmt FILE...`: rewrite specs in the canonical layout (resdsl/syntax/fmt.py); `--check` for CI."""
from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

from resdsl.cli import EXIT_OK, EXIT_SPEC, HelpFormatter, say
from resdsl.diagnostics import SourceSpan, UsageError

EPILOG = """\
examples:
  resdsl fmt my_net.res                  # rewrite in place
  resdsl fmt --check specs/**/*.res      # CI: exit 1 and name the files that are not formatted
  resdsl fmt --diff my_net.res           # show what would change, change nothing
  cat my_net.res | resdsl fmt -          # stdin to stdout

The layout: two spaces per open brace, no trailing whitespace, no space before a comma and one after,
at most one blank line, one newline at the end.  Comments and the alignment inside lines are kept;
nothing is reordered.  A file that does not parse is reported (file:line:col) and left as it is, and a
rewrite whose syntax tree would differ from the original's is refused.
"""


def register(commands) -> None:
    p = commands.add_parser(
        "fmt", help="rewrite specs in the canonical layout (--check: only report)",
        description="Rewrite .res files in the canonical layout, in place and atomically.  Idempotent; "
                    "comments survive; the syntax tree (and so every count) is unchanged.",
        epilog=EPILOG, formatter_class=HelpFormatter)
    p.add_argument("files", nargs="+", metavar="FILE", help="spec files to format ('-' for stdin to stdout)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file would change")
    mode.add_argument("--diff", action="store_true", help="print a unified diff of the changes; change nothing")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from resdsl.elaborate.loader import read_spec_file
    from resdsl.syntax.fmt import format_source, same_syntax

    if "-" in args.files and len(args.files) > 1:
        raise UsageError("'-' (stdin) cannot be mixed with files", SourceSpan("resdsl", 0, 0, 0, 0))
    unformatted = []
    for name in args.files:
        text = sys.stdin.read() if name == "-" else read_spec_file(Path(name))
        shown = "<stdin>" if name == "-" else name
        new = format_source(text)
        if not same_syntax(text, new, shown):  # parse errors raise here, located, before any write
            raise RuntimeError(f"fmt would change the syntax of {shown}; nothing was written")
        if name == "-":
            sys.stdout.write(new)
            continue
        if new == text:
            continue
        unformatted.append(name)
        if args.check:
            say(f"would reformat {name}", file=sys.stderr)
        elif args.diff:
            say("".join(difflib.unified_diff(text.splitlines(True), new.splitlines(True), name, name)), end="")
        else:
            from resdsl.backends.graphviz_render import write_atomic

            write_atomic(Path(name), new.encode("utf-8"))
            say(f"reformatted {name}", file=sys.stderr)
    if args.check or args.diff:
        checked = len(args.files)
        if args.check:
            say(f"{len(unformatted)} of {checked} file{'s' if checked != 1 else ''} would be reformatted",
                file=sys.stderr)
        return EXIT_SPEC if unformatted and args.check else EXIT_OK
    return EXIT_OK
