"""docs/zoo.md is generated from the specs (scripts/make_zoo.py) and must be current."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_zoo_page_is_up_to_date():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_zoo.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_zoo_page_lists_every_shipped_network():
    text = (ROOT / "docs" / "zoo.md").read_text()
    for folder in ("torchvision", "paper", "cifar", "other"):
        for path in (ROOT / "specs" / folder).glob("*.res"):
            assert f"(../specs/{folder}/{path.name})" in text, path
