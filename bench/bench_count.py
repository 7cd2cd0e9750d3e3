"""Benchmark `resdsl count` (run on demand: `python bench/bench_count.py`).

1. ResNet-152, whole processes: `resdsl count` against the path users take today — build the module
   in PyTorch and count it with torch.utils.flop_counter — printed as a ratio (baseline / ours).
2. Generated specs of 1,000 and 10,000 basic blocks: check + count in-process, and the growth ratio
   time(10k) / time(1k) (linear growth gives about 10).
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
from bench_all import replayed_spec  # noqa: E402  (one generator of the scale specs)
SPEC = ROOT / "specs/torchvision/resnet152.res"

BASELINE = f"""
import torch
from torch.utils.flop_counter import FlopCounterMode
import resdsl
model = resdsl.build({str(SPEC)!r}).eval()
params = sum(p.numel() for p in model.parameters())
with torch.no_grad(), FlopCounterMode(display=False) as counter:
    model(torch.randn(1, 3, 224, 224))
print(params, counter.get_total_flops())
"""


def timed(cmd: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)




def check_and_count(text: str) -> float:
    from resdsl.backends.count import report
    from resdsl.pipeline import load

    start = time.perf_counter()
    report(load(text), by="block")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="bench/bench_all.py --only startup measures the same with the issue's targets")
    parser.add_argument("repeats", nargs="?", type=int, default=3, help="runs of each measurement (default 3)")
    repeats = max(1, parser.parse_args().repeats)
    ours = timed([sys.executable, "-m", "resdsl", "count", str(SPEC)], repeats)
    try:
        base = timed([sys.executable, "-c", BASELINE], repeats)
        print(f"ResNet-152 count, whole process:  resdsl count {ours:.2f} s;  torch build + FlopCounterMode "
              f"{base:.2f} s;  ratio {base / ours:.1f}x  (baseline / ours; aim >= 10x)")
    except subprocess.CalledProcessError as err:
        print(f"ResNet-152: resdsl count {ours:.2f} s; torch baseline unavailable ({err.stderr.decode()[-200:]})")

    check_and_count(replayed_spec(30))  # warm caches and imports
    t1k = min(check_and_count(replayed_spec(1_000)) for _ in range(repeats))
    t10k = min(check_and_count(replayed_spec(10_000)) for _ in range(repeats))
    print(f"generated specs, check + count in-process:  1,000 blocks {t1k:.3f} s;  10,000 blocks {t10k:.3f} s "
          f"(aim < 1 s);  time(10k)/time(1k) = {t10k / t1k:.1f}  (linear ~ 10)")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory():
        main()
