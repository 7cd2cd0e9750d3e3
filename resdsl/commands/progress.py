"""Progress lines for the waits of a command: `progress("exporting to ONNX")` says nothing when the work
is done within `after` seconds, else one line on stderr when that time has passed and one when it ends
(`compile: exporting to ONNX ... done in 6.2 s`).  Never on stdout: `compile -o -` writes the code there."""
from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager
from typing import IO, Iterator

from resdsl.cli import say

AFTER = 2.0  # seconds of silence a user accepts without wondering whether the command hangs


@contextmanager
def progress(what: str, after: float = AFTER, stream: IO[str] | None = None) -> Iterator[None]:
    out = stream if stream is not None else sys.stderr
    start = time.monotonic()
    shown = threading.Event()
    lock = threading.Lock()

    def announce() -> None:
        with lock:
            if not finished:
                say(f"compile: {what} ...", file=out, flush=True)
                shown.set()

    finished = False
    timer = threading.Timer(after, announce)
    timer.daemon = True
    timer.start()
    ok = False
    try:
        yield
        ok = True
    finally:
        with lock:
            finished = True
        timer.cancel()
        if shown.is_set():
            outcome = "done" if ok else "stopped"
            say(f"compile: {what} ... {outcome} in {time.monotonic() - start:.1f} s", file=out, flush=True)
