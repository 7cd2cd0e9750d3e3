"""docs/language.md's primitive table is generated from the primitives: it lists every one, as they are."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from resdsl.elaborate.primitives import PRIMITIVES, primitive_table

ROOT = Path(__file__).resolve().parent.parent


def test_the_table_in_the_docs_is_the_generated_one():
    out = subprocess.run([sys.executable, str(ROOT / "scripts/primitive_table.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert primitive_table() in (ROOT / "docs/language.md").read_text(encoding="utf-8")


def test_the_table_has_a_row_per_primitive():
    rows = [line for line in primitive_table().splitlines() if line.startswith("| `")]
    assert [r.split("`")[1] for r in rows] == [*PRIMITIVES, "identity"]
