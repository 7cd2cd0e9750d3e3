"""`resdsl lsp`: run the language server on stdin/stdout (needs the `lsp` extra: pygls)."""
from __future__ import annotations

import argparse
import importlib.util

from resdsl.cli import EXIT_OK, HelpFormatter
from resdsl.diagnostics import SourceSpan, UsageError


def register(commands) -> None:
    p = commands.add_parser(
        "lsp", help="run the language server (stdio): diagnostics, hover figures, definitions, completion",
        description="Speak the Language Server Protocol on stdin/stdout: resdsl's located errors as "
                    "diagnostics while you type, hover with the output shape, params and MACs of the line "
                    "under the cursor, go-to-definition for blocks, networks and imports, completion of "
                    "block and primitive names.  Editors start it themselves (editors/vscode).",
        epilog="needs pygls: pip install 'resdsl[lsp]'", formatter_class=HelpFormatter)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("pygls") is None:
        raise UsageError("resdsl lsp needs the pygls package, which is not installed",
                         SourceSpan("resdsl", 0, 0, 0, 0), "pip install 'resdsl[lsp]'  (or pip install pygls)")
    from resdsl.lsp import serve

    serve()
    return EXIT_OK
