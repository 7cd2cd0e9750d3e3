"""docs/drawing.md and its gallery stay in step: every drawing exists, every spec loads and is shown
verbatim next to its drawing."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

import resdsl
from resdsl.backends.graphviz import to_dot

ROOT = Path(__file__).resolve().parent.parent
GALLERY_DIR = ROOT / "docs/gallery"


def _gallery():
    spec = importlib.util.spec_from_file_location("make_gallery", GALLERY_DIR / "make_gallery.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_gallery", module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.GALLERY


GALLERY = _gallery()


@pytest.mark.parametrize("entry", GALLERY, ids=lambda e: e.name)
def test_gallery_entry_is_drawn_and_documented(entry):
    doc = (ROOT / "docs/drawing.md").read_text()
    svg = GALLERY_DIR / f"{entry.name}.svg"
    assert svg.exists() and svg.read_text().lstrip().startswith("<?xml")
    assert f"(gallery/{entry.name}.svg)" in doc
    for spec in entry.specs:
        text = (ROOT / spec).read_text().rstrip("\n")
        assert text in doc, f"{spec} is not shown verbatim in docs/drawing.md"
    networks = [resdsl.load(ROOT / spec) for spec in entry.specs]
    source = to_dot(networks, entry.options)
    # the SVG shows what the spec draws today: every node title of the DOT is in it
    titles = [line.split("<b>", 1)[1].split("</b>", 1)[0] for line in source.splitlines() if "<b>" in line
              and "legend" not in line]
    body = svg.read_text()
    missing = [t for t in titles if t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") not in body]
    assert not missing, f"{svg.name} is stale (rerun docs/gallery/make_gallery.py): {missing[:3]}"
