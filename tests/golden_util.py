"""Shared helpers for golden tests: run the CLI in-process in a folder, capture what it prints."""
from __future__ import annotations

import contextlib
import io
import os
import shlex
from pathlib import Path

from resdsl.cli import main
from resdsl.diagnostics import ResdslError

GOLDEN = Path(__file__).parent / "golden"


def run_cli(folder: Path, argv: list[str], classes: list[str] | None = None) -> tuple[int, str, str]:
    """Run the CLI in `folder`; the classes of the errors it reports are appended to `classes`."""
    out, err = io.StringIO(), io.StringIO()
    previous = os.getcwd()
    os.chdir(folder)
    original = ResdslError.render

    def render(self: ResdslError) -> str:  # the CLI renders each error it reports once
        if classes is not None:
            classes.extend(getattr(self, "classes", ()) or (type(self).__name__,))
        return original(self)

    ResdslError.render = render
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    finally:
        ResdslError.render = original
        os.chdir(previous)
    return code, out.getvalue(), err.getvalue()


def golden_argv(spec: Path) -> list[str]:
    extra = spec.with_suffix(".args")
    args = shlex.split(extra.read_text()) if extra.exists() else []
    return ["check", spec.name, *args]


def render(code: int, text: str, classes: list[str] | None = None) -> str:
    head = f"exit: {code}\n" + (f"class: {', '.join(classes)}\n" if classes else "")
    return head + text
