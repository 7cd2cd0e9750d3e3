"""Running `dot` and writing the result: the only part of drawing that touches the system."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from resdsl.diagnostics import SourceSpan, UsageError

# Output formats by file suffix; "dot" is the DOT source itself and needs no Graphviz program.
FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}

INSTALL_HINT = ("install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz), "
                "or write the DOT source with -o FILE.dot and render it elsewhere")

_SPAN = SourceSpan("-o", 1, 1, 1, 1)


class GraphvizMissing(UsageError):
    """The `dot` program is needed for this output format and is not on PATH."""


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
    done = subprocess.run([dot, f"-T{fmt}"], input=source.encode("utf-8"), capture_output=True,
                          timeout=timeout, check=False)
    if done.returncode != 0:
        # Our DOT is generated, so a failure here is our bug (or dot's), not the user's spec.
        raise RuntimeError(f"dot -T{fmt} failed with exit code {done.returncode}: "
                           f"{done.stderr.decode('utf-8', 'replace').strip()}")
    return done.stdout


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same directory, so a reader never sees
    a half-written file and a failure leaves nothing behind."""
    directory = path.parent if str(path.parent) else Path(".")
    fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(temp, _default_mode())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise


def _default_mode() -> int:
    """0o666 less the umask: what a plain open() would have created (mkstemp makes 0o600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask
