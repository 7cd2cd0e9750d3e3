"""CPU eval throughput of the inference lowering (issue 11 part 4), as ratios measured in one run.

Four modules with the same weights, all in eval mode under `torch.inference_mode()`:
  torchvision   torchvision's own model (the reference)
  build         resdsl.build(spec): BNs as modules
  folded        resdsl.fold(model, channels_last=False): every BN after a conv folded into it, dropout gone
  folded_cl     resdsl.fold(model) = resdsl.build(spec, inference=True): folded, weights channels-last
                (the input stays NCHW, as a user passes it: the first conv converts it)

Rounds are interleaved, each in a rotated order, so drift on a shared machine hits all four alike; each
figure is the median over rounds of the best of a few forwards, in CPU seconds of this process (what
other processes on the machine disturb least).  Ratios are images/s of one module over another's.

    python bench/bench_inference.py                        # ResNet-50, batch 8, 3x224x224, 1 thread
    python bench/bench_inference.py --arch resnet18 --rounds 3 --threads 2
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import types
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import resdsl  # noqa: E402


def models(arch: str) -> dict[str, torch.nn.Module]:
    sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
    import torchvision.models as tvm

    reference = getattr(tvm, arch)().eval()
    with torch.no_grad():  # statistics away from the identity, so folding has work to do
        for m in reference.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    built = resdsl.build(ROOT / f"specs/torchvision/{arch}.res")
    built.load_state_dict(reference.state_dict(), strict=True)
    built.eval()
    folded = resdsl.fold(built, channels_last=False)
    folded_cl = resdsl.fold(built)
    return {"torchvision": reference, "build": built, "folded": folded, "folded_cl": folded_cl}


def best_of(model: torch.nn.Module, x: torch.Tensor, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.process_time()
        model(x)
        times.append(time.process_time() - start)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="resnet50")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--flush-denormal", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.flush_denormal:
        torch.set_flush_denormal(True)
    torch.manual_seed(0)
    mods = models(args.arch)
    x = torch.randn(args.batch, 3, args.size, args.size)
    seconds: dict[str, list[float]] = {name: [] for name in mods}
    with torch.inference_mode():
        out = mods["build"](x)
        delta = float((mods["folded"](x) - out).abs().max() / out.abs().max())
        names = list(mods)
        for name in names:
            mods[name](x)  # warm-up
        for r in range(args.rounds):
            for name in names[r % len(names):] + names[:r % len(names)]:
                seconds[name].append(best_of(mods[name], x, args.repeats))
    rate = {name: args.batch / statistics.median(s) for name, s in seconds.items()}
    print(f"{args.arch}, batch {args.batch}, 3x{args.size}x{args.size}, {args.threads} thread(s), CPU eval, "
          f"{args.rounds} rounds")
    for name, r in rate.items():
        print(f"  {name:12s} {r:8.2f} images/s")
    print(f"  inference=True (folded_cl) / build        {rate['folded_cl'] / rate['build']:.3f}x")
    print(f"  inference=True (folded_cl) / torchvision  {rate['folded_cl'] / rate['torchvision']:.3f}x")
    print(f"  folded (NCHW) / build                     {rate['folded'] / rate['build']:.3f}x")
    print(f"  build / torchvision                       {rate['build'] / rate['torchvision']:.3f}x")
    print(f"  max |folded - build| / max |logit| = {delta:.2e}")


if __name__ == "__main__":
    main()
