"""Benchmark `resdsl draw` (run on demand: `python bench/bench_draw.py [REPEATS]`).

1. ResNet-152 at block level (aim: under 1 s including dot) and op level (aim: under 5 s), split
   into load (parse, elaborate, check, count), DOT generation, and rendering with `dot -Tsvg`.
   Baseline: `dot -Tsvg` alone on the DOT we produce — the Graphviz layout every drawing pays.
   Printed: each part's median, the total, and total / baseline (how much we add on top of dot).
2. The `resdsl draw` command as a whole process (Python start-up and imports included).
3. DOT generation on generated specs of 1,000 and 10,000 basic blocks (no dot), and the growth ratio
   time(10k) / time(1k) (linear growth gives about 10).
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
from bench_all import replayed_spec  # noqa: E402  (one generator of the scale specs)
sys.path.insert(0, str(ROOT))
SPEC = ROOT / "specs/torchvision/resnet152.res"

from resdsl.backends.graphviz import DrawOptions, to_dot  # noqa: E402
from resdsl.pipeline import load  # noqa: E402


def median_time(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def dot_svg(source: str) -> bytes:
    return subprocess.run(["dot", "-Tsvg"], input=source.encode(), capture_output=True, check=True).stdout




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="bench/bench_all.py --only draw measures the same with the issue's targets")
    parser.add_argument("repeats", nargs="?", type=int, default=5, help="runs of each measurement (default 5)")
    repeats = max(1, parser.parse_args().repeats)
    if shutil.which("dot") is None:
        sys.exit("bench_draw needs Graphviz's dot on PATH (apt-get install graphviz)")
    print(f"resdsl draw, median of {repeats} runs\n")

    t_load, net = median_time(lambda: load(SPEC), repeats)
    print(f"ResNet-152 ({len(net.graph.nodes)} IR nodes): load + check + count {t_load * 1000:7.1f} ms")
    aims = {"block": 1.0, "op": 5.0}
    for level in ("stage", "block", "op"):
        options = DrawOptions(level=level)
        t_gen, source = median_time(lambda: to_dot([net], options), repeats)
        t_dot, svg = median_time(lambda: dot_svg(source), repeats)
        total = t_load + t_gen + t_dot
        verdict = "met" if total < aims.get(level, 0) else "MISSED"
        aim = f"   aim < {aims[level]:.0f} s: {verdict}" if level in aims else ""
        print(f"  {level:5s}  DOT {len(source) / 1024:6.1f} KiB  generate {t_gen * 1000:7.1f} ms   "
              f"dot -Tsvg {t_dot * 1000:7.1f} ms   total {total * 1000:7.1f} ms   "
              f"total / dot-alone {total / t_dot:5.2f}x   generate / dot-alone {t_gen / t_dot:5.3f}{aim}")

    with tempfile.TemporaryDirectory() as tmp:
        for level in ("block", "op"):
            out = Path(tmp) / f"r152_{level}.svg"
            cmd = [sys.executable, "-m", "resdsl", "draw", str(SPEC), "--level", level, "-o", str(out)]
            t_cli, _ = median_time(lambda: subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT), repeats)
            print(f"  `resdsl draw --level {level}` whole process: {t_cli * 1000:7.1f} ms")

    print("\nDOT generation alone on generated specs (basic blocks, option A):")
    times = {}
    for blocks in (1000, 10000):
        generated = load(replayed_spec(blocks))
        for level in ("block", "op"):
            options = DrawOptions(level=level)
            t, source = median_time(lambda: to_dot([generated], options), max(1, repeats // 2))
            times[blocks, level] = t
            print(f"  {blocks:6d} blocks, {level:5s}: {t * 1000:8.1f} ms  ({len(source) / 1024:7.1f} KiB)")
    for level in ("block", "op"):
        print(f"  growth 10k / 1k at {level} level: {times[10000, level] / times[1000, level]:.1f} (linear ~10)")


if __name__ == "__main__":
    main()
