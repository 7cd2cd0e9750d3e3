#!/usr/bin/env python3
"""Write resdsl/library_index.json: the figures `resdsl list` shows of every shipped spec, computed
ahead so a first `list` on a new machine does not load them all (resdsl/library_index.py).

Run it after changing a shipped spec, the prelude, or how resdsl counts: tests/test_library_index.py
fails while the index is stale and names this script.  Specs that fail to load are left out (`list`
loads them and shows the error)."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["RESDSL_NO_CACHE"] = "1"  # computed from the files, never read back from a cache

from resdsl import library_index  # noqa: E402
from resdsl.catalog import entries, header  # noqa: E402
from resdsl.commands.list import compute  # noqa: E402
from resdsl.diagnostics import ResdslError  # noqa: E402
from resdsl.outputs import write_atomic  # noqa: E402


def build() -> dict:
    specs = {}
    for spec in entries():
        family = dict(header(spec.path.read_text("utf-8")).tags).get("family")
        try:
            found, sources, _ = compute(spec.path, family)
        except ResdslError:
            continue
        made = library_index.entry(sources, family, found)
        if made is not None:
            specs[spec.qualified] = made
    return {"format": library_index.FORMAT, "specs": specs}


def main() -> None:
    index = build()
    write_atomic(library_index.INDEX, json.dumps(index, indent=1, sort_keys=True) + "\n")
    print(f"wrote {library_index.INDEX.relative_to(ROOT)} ({len(index['specs'])} specs)")


if __name__ == "__main__":
    main()
