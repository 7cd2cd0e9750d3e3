"""Regenerate the excerpts of generated code in docs/compile.md (`python3 scripts/compile_doc.py`).

Each excerpt sits between `<!-- generated: NAME -->` and `<!-- end generated -->`; tests/test_compile_doc.py
checks that they are what `resdsl compile` writes today.  Needs no torch (generating code does not).
"""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs/compile.md"

# excerpt name -> (spec, the classes shown, in order)
EXCERPTS = {
    "resnet50": ("specs/torchvision/resnet50.res", ["Bottleneck", "Resnet50"]),
    "densenet121": ("specs/torchvision/densenet121.res", ["DenseLayer", "DenseBlock", "Transition", "Densenet121"]),
    "mobilenet_v3_large": ("specs/torchvision/mobilenet_v3_large.res", ["ConvNormAct", "Bneck"]),
}

_BLOCK = re.compile(r"(<!-- generated: (\w+) -->\n)(.*?)(<!-- end generated -->)", re.S)


def excerpt(name: str) -> str:
    sys.path.insert(0, str(ROOT))
    import resdsl
    from resdsl.backends.pycode import generate

    spec, classes = EXCERPTS[name]
    source = generate(resdsl.load(ROOT / spec))
    nodes = {n.name: n for n in ast.parse(source).body if isinstance(n, ast.ClassDef)}
    parts = [ast.get_source_segment(source, nodes[c]) for c in classes]
    return "```python\n" + "\n\n\n".join(parts) + "\n```\n"


def render(text: str) -> str:
    return _BLOCK.sub(lambda m: m.group(1) + excerpt(m.group(2)) + m.group(4), text)


def main() -> int:
    text = DOC.read_text(encoding="utf-8")
    new = render(text)
    if new != text:
        DOC.write_text(new, encoding="utf-8")
        print(f"updated {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
