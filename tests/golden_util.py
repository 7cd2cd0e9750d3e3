"""Shared helpers for golden tests: run the CLI in-process in a folder, capture what it prints."""
from __future__ import annotations

import contextlib
import io
import os
import shlex
from pathlib import Path

from resdsl.cli import main

GOLDEN = Path(__file__).parent / "golden"


def run_cli(folder: Path, argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    previous = os.getcwd()
    os.chdir(folder)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    finally:
        os.chdir(previous)
    return code, out.getvalue(), err.getvalue()


def golden_argv(spec: Path) -> list[str]:
    extra = spec.with_suffix(".args")
    args = shlex.split(extra.read_text()) if extra.exists() else []
    return ["check", spec.name, *args]


def render(code: int, text: str) -> str:
    return f"exit: {code}\n{text}"
