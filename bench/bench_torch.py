"""Throughput of resdsl's PyTorch back ends against torchvision's own ResNet.

Modules with the same weights:
  torchvision  torchvision.models.resnetNN() (the baseline, where torchvision imports)
  hand         a ResNet written by hand, after torchvision/models/resnet.py (tests/reference_resnet.py;
               the baseline where torchvision is absent)
  build        resdsl.build(spec): the plan-interpreting module
  generated    the class in the .py file `resdsl compile` writes

For each: eval forward and a training step (forward, cross-entropy, backward, SGD), in images/s, and the
ratio to the baseline (1.00 = as fast).  Rounds are interleaved so drift hits all three alike;
the median round counts.  On a CUDA machine it also runs ResNet-50 with AMP (fp16) and channels_last.

    python bench/bench_torch.py                          # resnet18, 3x112x112, batch 8 (< 2 min on CPU)
    python bench/bench_torch.py --arch resnet50 --size 224 --batch 16
    python bench/bench_torch.py --size 32 --batch 1      # small work per op: interpreter overhead shows
"""
from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import resdsl  # noqa: E402
from resdsl.backends import pycode  # noqa: E402


# ---- the hand-written baseline (torchvision's resnet.py, trimmed) ------------------------------------


sys.path.insert(0, str(ROOT / "tests"))
from reference_resnet import HAND_WRITTEN as ARCHS, ResNet  # noqa: E402  (the same oracle the tests use)



# ---- measuring -------------------------------------------------------------------------------------------


def torchvision_model(arch: str) -> nn.Module | None:
    """torchvision's own constructor, where torchvision imports (its meta registrations stubbed)."""
    import types

    sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
    try:
        import torchvision
    except ImportError:
        return None
    return getattr(torchvision.models, arch)()


def three_models(arch: str, device: torch.device) -> dict[str, nn.Module]:
    """hand, build and generated (and torchvision's own model where it imports), with the same weights."""
    net = resdsl.load(ROOT / f"specs/torchvision/{arch}.res")
    hand = ResNet(*ARCHS[arch])
    built = resdsl.build(net)
    generated = pycode.load_source(pycode.generate(net))()
    state = hand.state_dict()
    built.load_state_dict(state, strict=True)
    generated.load_state_dict(state, strict=True)
    models = {"hand": hand, "build": built, "generated": generated}
    vision = torchvision_model(arch)
    if vision is not None:
        vision.load_state_dict(state, strict=True)
        models = {"torchvision": vision, **models}
    return {name: model.to(device) for name, model in models.items()}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def forward_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> Callable[[], None]:
    model.eval()

    def step() -> None:
        with torch.inference_mode():
            model(x)
    return step


def train_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> Callable[[], None]:
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    return step


def measure(models: dict[str, nn.Module], make_step, x: torch.Tensor, y: torch.Tensor, iters: int,
            warmup: int, rounds: int, device: torch.device, amp: bool = False) -> dict[str, float]:
    """Images per second of each model, median over interleaved rounds."""
    steps = {name: make_step(m, x, y) for name, m in models.items()}
    autocast = (lambda: torch.autocast(device.type, dtype=torch.float16)) if amp else contextlib.nullcontext
    for step in steps.values():
        with autocast():
            for _ in range(warmup):
                step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    names = list(steps)
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:  # rotate who goes first
            step = steps[name]
            sync(device)
            start = time.perf_counter()
            with autocast():
                for _ in range(iters):
                    step()
            sync(device)
            times[name].append(time.perf_counter() - start)
    return {name: iters * x.shape[0] / statistics.median(t) for name, t in times.items()}


def report(title: str, results: dict[str, float]) -> None:
    """Each model's rate and its ratio to the baseline: torchvision's own model, else the hand-written one."""
    baseline = "torchvision" if "torchvision" in results else "hand"
    base = results[baseline]
    print(f"{title}")
    for name, rate in results.items():
        print(f"  {name:11s} {rate:9.1f} images/s   {rate / base:5.2f}x {baseline}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", choices=sorted(ARCHS), default="resnet18")
    p.add_argument("--size", type=int, default=112, help="input height and width (default 112)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--iters", type=int, default=5, help="steps per timed round")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds; the median counts")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--device", choices=("cpu", "cuda"), default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (CPU)")
    p.add_argument("--no-gpu-amp", action="store_true", help="skip the ResNet-50 AMP + channels_last run")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {device}, {torch.get_num_threads()} threads; {args.arch} at "
          f"3x{args.size}x{args.size}, batch {args.batch}, {args.rounds} rounds x {args.iters} steps")
    models = three_models(args.arch, device)
    x = torch.randn(args.batch, 3, args.size, args.size, device=device)
    y = torch.randint(0, 1000, (args.batch,), device=device)
    report("eval forward:", measure(models, forward_step, x, y, args.iters, args.warmup, args.rounds, device))
    report("training step:", measure(models, train_step, x, y, args.iters, args.warmup, args.rounds, device))
    if device.type == "cuda" and not args.no_gpu_amp:
        models = {k: m.to(memory_format=torch.channels_last) for k, m in three_models("resnet50", device).items()}
        x = torch.randn(64, 3, 224, 224, device=device).to(memory_format=torch.channels_last)
        y = torch.randint(0, 1000, (64,), device=device)
        report("resnet50, AMP fp16 + channels_last, batch 64, eval forward:",
               measure(models, forward_step, x, y, 20, 5, 5, device, amp=True))
        report("resnet50, AMP fp16 + channels_last, batch 64, training step:",
               measure(models, train_step, x, y, 10, 3, 5, device, amp=True))
    elif device.type != "cuda":
        print("(no CUDA device: the ResNet-50 AMP + channels_last GPU run is skipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
