"""Regenerate the drawings of docs/drawing.md:  python docs/gallery/make_gallery.py [--png DIR]

Each entry names its spec(s), the level and the layout; the SVGs land next to this script.  The DOT
is deterministic, so a rerun changes an SVG only when the spec, resdsl or Graphviz changed.
`--png DIR` also writes PNGs there, to look at the drawings outside a browser.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

import resdsl  # noqa: E402
from resdsl.backends.graphviz import DrawOptions, draw  # noqa: E402


@dataclass(frozen=True)
class Entry:
    name: str                      # the SVG is NAME.svg
    specs: tuple[str, ...]         # relative to the repository root; two are drawn side by side
    options: DrawOptions


GALLERY = (
    Entry("plain34_vs_resnet34", ("docs/gallery/specs/plain34.res", "docs/gallery/specs/resnet34_a.res"),
          DrawOptions(level="block")),
    Entry("bottleneck", ("docs/gallery/specs/bottleneck.res",), DrawOptions(level="op")),
    Entry("densenet_bc", ("docs/gallery/specs/densenet_bc.res",), DrawOptions(level="block")),
    Entry("inception", ("docs/gallery/specs/inception.res",), DrawOptions(level="op")),
    Entry("unet", ("docs/gallery/specs/unet.res",), DrawOptions(level="stage")),
    Entry("unet_block", ("docs/gallery/specs/unet.res",), DrawOptions(level="block")),
    Entry("se_block", ("docs/gallery/specs/se_block.res",), DrawOptions(level="op")),
    Entry("highway", ("docs/gallery/specs/highway.res",), DrawOptions(level="op")),
    Entry("inception_v4", ("specs/paper/inception_v4.res",), DrawOptions(level="block")),
    Entry("mobilenet_v3_large", ("specs/torchvision/mobilenet_v3_large.res",), DrawOptions(level="block")),
    Entry("efficientnet_b0", ("specs/torchvision/efficientnet_b0.res",), DrawOptions(level="block")),
    Entry("convnext_tiny", ("specs/torchvision/convnext_tiny.res",), DrawOptions(level="block")),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--png", metavar="DIR", type=Path, help="also write PNGs to DIR")
    parser.add_argument("names", nargs="*", help="only these entries (default: all)")
    args = parser.parse_args(argv)
    for entry in GALLERY:
        if args.names and entry.name not in args.names:
            continue
        networks = [resdsl.load(ROOT / spec) for spec in entry.specs]
        out = HERE / f"{entry.name}.svg"
        draw(networks, out, entry.options)
        print(f"wrote {out.relative_to(ROOT)}")
        if args.png:
            args.png.mkdir(parents=True, exist_ok=True)
            draw(networks, args.png / f"{entry.name}.png", entry.options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
