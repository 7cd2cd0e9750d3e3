#!/usr/bin/env python3
"""Rewrite the primitive table of docs/language.md from the op set (`--check`: only compare)."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from resdsl.elaborate.primitives import TABLE_BEGIN, TABLE_END, primitive_table  # noqa: E402

DOC = ROOT / "docs" / "language.md"


def updated(text: str) -> str:
    start, end = text.index(TABLE_BEGIN), text.index(TABLE_END) + len(TABLE_END)
    return text[:start] + primitive_table() + text[end:]


def main(argv: list[str]) -> int:
    text = DOC.read_text(encoding="utf-8")
    new = updated(text)
    if "--check" in argv:
        if new != text:
            print("docs/language.md: the primitive table is out of date; run scripts/primitive_table.py",
                  file=sys.stderr)
            return 1
        return 0
    DOC.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
