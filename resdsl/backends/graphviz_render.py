"""Running `dot` and writing the result: the only part of drawing that touches the system."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from resdsl.diagnostics import SourceSpan, UsageError
from resdsl.outputs import write_atomic  # noqa: F401  (drawing writes through the one atomic writer)

# Output formats by file suffix; "dot" is the DOT source itself and needs no Graphviz program.
FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}

INSTALL_HINT = ("install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz), "
                "or write the DOT source with -o FILE.dot and render it elsewhere")

_SPAN = SourceSpan("-o", 1, 1, 1, 1)


class GraphvizMissing(UsageError):
    """The `dot` program is needed for this output format and is not on PATH."""


class DotTimeout(UsageError):
    """`dot` did not finish within the wait it was given (`resdsl.backends.graphviz_size.dot_wait`)."""


def format_for(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UsageError(f"cannot tell the output format from '{path}'", _SPAN,
                         "name the output .svg, .png, .pdf or .dot (or -o - for DOT on stdout)")
    return fmt


def require_dot(fmt: str) -> str | None:
    """The path of `dot` when `fmt` needs it (None for DOT output); GraphvizMissing when it is absent."""
    if fmt == "dot":
        return None
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizMissing(f"writing {fmt.upper()} needs the Graphviz program `dot`, which is not "
                              "installed (or not on PATH)", _SPAN, INSTALL_HINT)
    return dot


def render(source: str, fmt: str, timeout: float = 300.0) -> bytes:
    """The DOT source laid out and rendered by `dot` as `fmt` (the source itself for "dot")."""
    dot = require_dot(fmt)
    if dot is None:
        return source.encode("utf-8")
    try:
        done = subprocess.run([dot, f"-T{fmt}"], input=source.encode("utf-8"), capture_output=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise DotTimeout(f"Graphviz's dot did not finish within {timeout:g} s laying out {_size(source)}",
                         _SPAN, _TOO_BIG_HINT) from None
    except OSError as err:
        raise UsageError(f"cannot run Graphviz's dot: {err.strerror or err}", _SPAN, INSTALL_HINT) from None
    if done.returncode < 0:  # killed by a signal: out of memory or time on a graph this large
        raise UsageError(f"Graphviz's dot was killed (signal {-done.returncode}) laying out {_size(source)}",
                         _SPAN, _TOO_BIG_HINT)
    if done.returncode != 0:
        # Our DOT is generated, so a failure here is our bug (or dot's), not the user's spec.
        raise RuntimeError(f"dot -T{fmt} failed with exit code {done.returncode}: "
                           f"{done.stderr.decode('utf-8', 'replace').strip()}")
    return done.stdout


_TOO_BIG_HINT = ("draw fewer nodes with --level block or --level stage, or write the DOT source with "
                 "-o FILE.dot (no layout needed) and lay it out elsewhere")


def _size(source: str) -> str:
    """How big a graph the DOT source describes, for the messages above."""
    edges = source.count(" -> ")
    nodes = sum(1 for line in source.splitlines() if "[" in line and " -> " not in line
                and not line.lstrip().startswith(("graph", "node", "edge", "subgraph")))
    return f"a graph of {nodes:,} nodes and {edges:,} edges"
