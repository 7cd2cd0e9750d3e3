"""docs/compile.md shows the code `resdsl compile` writes today (regenerate: python3 scripts/compile_doc.py)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _script():
    spec = importlib.util.spec_from_file_location("compile_doc", ROOT / "scripts/compile_doc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_excerpts_of_generated_code_are_current():
    script = _script()
    text = (ROOT / "docs/compile.md").read_text(encoding="utf-8")
    assert text.count("<!-- generated: ") == len(script.EXCERPTS) == 3
    assert script.render(text) == text, "docs/compile.md is stale: run python3 scripts/compile_doc.py"
    assert "if expanded != in_channels:" in text  # MobileNetV3's optional expansion conv
    assert "class DenseBlock(nn.Module):" in text and "def __init__(self, in_channels, width, stride=1" in text
