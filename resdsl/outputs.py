"""Where outputs may go: never over an input, never into a device or a pipe; always written atomically.

`resdsl compile x.res -o x.res` used to replace the spec with the generated code, and `-o` naming a FIFO
or a device replaced the node with a regular file.  Every command and API function that writes a file
calls `check_output` first (a `UsageError`, exit 2, with nothing touched) and `write_atomic` to write.
"""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Callable, Iterable

from resdsl.diagnostics import SourceSpan, UsageError

_SPAN = SourceSpan("-o", 1, 1, 1, 1)


def check_output(target: Path, inputs: Iterable[str | Path], span: SourceSpan = _SPAN) -> None:
    """Refuse `target` when it is (or links to) one of `inputs`, is not a regular file, or its directory
    does not exist."""
    shown = _short(str(target))
    try:
        resolved = target.resolve()
        info = os.stat(target) if os.path.lexists(target) else None
    except (OSError, RuntimeError, ValueError) as err:  # a symlink loop, a name too long, a NUL byte
        raise UsageError(f"cannot write {shown}: {_reason(err)}", span, "write somewhere else") from None
    if info is not None and not stat.S_ISREG(info.st_mode):
        kind = ("a directory" if stat.S_ISDIR(info.st_mode) else "a named pipe" if stat.S_ISFIFO(info.st_mode)
                else "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)
                else "a socket" if stat.S_ISSOCK(info.st_mode) else "not a regular file")
        raise UsageError(f"cannot write {shown}: it is {kind}; resdsl writes regular files only", span,
                         "give a file name (or - for standard output)")
    for source in inputs:
        try:
            same = resolved == Path(source).resolve() or (
                info is not None and os.path.exists(source) and os.path.samefile(target, source))
        except (OSError, RuntimeError, ValueError):
            continue
        if same:
            raise UsageError(f"{shown} is an input of this run ({_short(str(source))}); writing it would "
                             "replace the spec", span, "choose another output name")
    if not resolved.parent.is_dir():
        raise UsageError(f"cannot write {shown}: its directory does not exist", span,
                         "create it first, or write somewhere else")


def write_atomic(target: Path, write: Callable[[Path], None] | bytes | str) -> None:
    """Write through a temporary file in the target's directory, then rename it over the target: readers
    never see half a file, and a failure leaves the old file (if any) untouched and no temporary behind.
    `write` is the data, or a function that writes to the path it is given."""
    directory = target.parent if str(target.parent) else Path(".")
    # The temporary keeps the target's extension: writers such as torch.export.save warn when the name
    # they are given does not end in theirs (`.pt2`).
    fd, name = tempfile.mkstemp(dir=directory, prefix=f".{target.name[:64]}.", suffix=f".tmp{target.suffix[:16]}")
    os.close(fd)
    temp = Path(name)
    try:
        if callable(write):
            write(temp)
        else:
            temp.write_bytes(write.encode("utf-8") if isinstance(write, str) else write)
        os.chmod(temp, _default_mode())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _default_mode() -> int:
    """0o666 less the umask: what a plain open() would have created (mkstemp makes 0o600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _reason(err: Exception) -> str:
    return (err.strerror if isinstance(err, OSError) and err.strerror else str(err)) or type(err).__name__


def _short(text: str) -> str:
    return text if len(text) <= 200 else text[:197] + "..."
