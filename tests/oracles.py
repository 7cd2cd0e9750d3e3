"""Reference implementations we do not control (torchvision's and timm's model code), used as oracles.

A spec is "equal to its reference" when, against the reference model:
  * parameters and buffers (element counts) are equal,
  * MACs equal FlopCounterMode's FLOPs / 2 for one image at the spec's input size (measured on the
    meta device, so even RegNetY-128GF costs nothing to count),
  * the reference's `state_dict()` loads into `resdsl.build(spec)` with `strict=True` (same names and
    shapes), and
  * with those weights, eval logits agree within 1e-5 (fp32; relative to the largest logit when the
    logits are large) on a random input, after `randomise_` has made BN statistics, norm affines and
    layer scales far from their identity initialisation, so activations leave the ranges where a
    stand-in op would coincide with the real one (inputs above 6 for ReLU6, beyond +-3 for the hard
    activations: `saturations` reports where they went).

The logits input may be smaller than the spec's (3x64x64 for most nets): the graph is the same, only
the maps are smaller.  torchvision and timm are test-only dependencies: `torchvision_models()` and
`timm_module()` skip the calling test with a reason where they are absent.
"""
from __future__ import annotations

import importlib
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import resdsl  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
LOGITS_TOLERANCE = 1e-5


def torchvision_models():
    """`torchvision.models`, imported without torchvision's compiled ops (which do not load against
    this CPU torch: `torchvision._meta_registrations` registers kernels for them at import time).  The
    model code is pure Python and does not need them.  Skips the test when torchvision is absent."""
    sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
    try:
        return importlib.import_module("torchvision.models")
    except ImportError as err:  # absent, or a build that cannot import even so
        pytest.skip(f"torchvision's model code is not importable here: {err}")


def timm_module():
    """`timm` (its model code only; needs torchvision importable first).  Skips when absent."""
    torchvision_models()
    try:
        return importlib.import_module("timm")
    except ImportError as err:
        pytest.skip(f"timm is not importable here: {err}")


# ---- making weights that tell ops apart ---------------------------------------------------------------

NORMS = (nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm)
WEIGHTED = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


@torch.no_grad()
def randomise_(model: nn.Module, x: torch.Tensor, seed: int = 0) -> nn.Module:
    """Overwrite in place what a fresh model initialises to the identity: the affines of every norm,
    biases and loose per-channel parameters (ConvNeXt's layer scales, 1e-6 at init), and BN running
    statistics.  Conv and linear weights keep the reference's own initialisation.

    The running statistics are first measured on `x` (a batch of at least two, one train-mode forward),
    then moved off: means by 0.3 standard deviations, variances by a factor in [0.5, 1.5] (after
    raising those of channels the batch left dead to a quarter of the layer's mean).  Measured
    first, so a deep residual net's activations stay in range (random statistics alone let a ResNet-152
    reach logits of 1e10); moved, so eval mode visibly uses them rather than batch statistics.
    Returns `model`, in eval mode."""
    g = torch.Generator().manual_seed(seed)

    def uniform(shape, low: float, high: float) -> torch.Tensor:
        return torch.rand(shape, generator=g) * (high - low) + low

    def normal(shape, std: float) -> torch.Tensor:
        return torch.randn(shape, generator=g) * std

    batchnorms = []
    for module in model.modules():
        if isinstance(module, NORMS):
            if getattr(module, "weight", None) is not None:
                module.weight.copy_(uniform(module.weight.shape, 0.5, 2.0))
                module.bias.copy_(normal(module.bias.shape, 1.0))
            if getattr(module, "running_mean", None) is not None:
                batchnorms.append((module, module.momentum))
                module.momentum = None              # a cumulative average: one batch sets it
                module.reset_running_stats()
        elif isinstance(module, WEIGHTED):
            if module.bias is not None:
                module.bias.copy_(normal(module.bias.shape, 1.0))
        else:
            for param in module.parameters(recurse=False):     # layer_scale and the like
                param.copy_(uniform(param.shape, 0.4, 1.2))
    if batchnorms:
        model.train()(x)
        for module, momentum in batchnorms:
            module.momentum = momentum
            var = module.running_var
            var.clamp_(min=0.25 * float(var.mean()))  # channels dead on this batch: no 1/sqrt(eps)
            module.running_mean.add_(normal(var.shape, 0.3) * var.sqrt())
            var.mul_(uniform(var.shape, 0.5, 1.5))
    return model.eval()


# Activations whose stand-ins would agree with them inside a range: where the inputs must reach.
SATURATING = {"ReLU6": (None, 6.0), "Hardswish": (-3.0, 3.0), "Hardsigmoid": (-3.0, 3.0)}


def forward_watching_saturations(model: nn.Module, x: torch.Tensor
                                 ) -> tuple[torch.Tensor, dict[str, tuple[float, float]]]:
    """One eval forward of `model` on `x`: its output (the logits, where a model returns aux outputs
    too) and the (min, max) of the inputs each saturating activation class saw."""
    seen: dict[str, list[float]] = {}

    def hook(module, inputs):          # before the op: these run in place
        name = type(module).__name__
        lo, hi = float(inputs[0].min()), float(inputs[0].max())
        old = seen.setdefault(name, [lo, hi])
        old[0], old[1] = min(old[0], lo), max(old[1], hi)

    handles = [m.register_forward_pre_hook(hook) for m in model.modules() if type(m).__name__ in SATURATING]
    try:
        with torch.no_grad():
            out = model.eval()(x)
    finally:
        for h in handles:
            h.remove()
    if isinstance(out, tuple):
        out = out[0]
    return out, {k: (v[0], v[1]) for k, v in seen.items()}


# ---- counting a reference -----------------------------------------------------------------------------


class meta_parameters(torch.overrides.TorchFunctionMode):
    """Within it, tensors made by the factories that create parameters and buffers (`torch.empty`,
    `zeros`, `ones`, ...) land on the meta device unless a device is given: a model builds without
    allocating its weights.  Unlike `with torch.device("meta")`, the arithmetic a constructor does on
    tensors of its own (RegNet computes its widths with `torch.arange(...).tolist()`) still runs."""

    FACTORIES = frozenset({torch.empty, torch.zeros, torch.ones, torch.full, torch.rand, torch.randn})

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if func in self.FACTORIES and kwargs.get("device") is None:
            kwargs["device"] = "meta"
        return func(*args, **kwargs)



@dataclass(frozen=True)
class Counts:
    params: int
    buffers: int
    macs: int
    output: tuple[int, ...]          # one sample's output shape


def flop_counter_macs(model: nn.Module, x: torch.Tensor) -> tuple[int, torch.Tensor]:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        out = model(x)
    if isinstance(out, tuple):          # (logits, aux) heads: the logits are the first
        out = out[0]
    return counter.get_total_flops() // 2, out


def count_reference(factory: Callable[[], nn.Module], input_shape: tuple[int, ...]) -> Counts:
    """Counts of the reference model on the meta device (nothing allocated, nothing computed)."""
    with meta_parameters():
        model = factory().eval()
    macs, out = flop_counter_macs(model, torch.empty(1, *input_shape, device="meta"))
    return Counts(params=sum(p.numel() for p in model.parameters()),
                  buffers=sum(b.numel() for b in model.buffers()),
                  macs=macs, output=tuple(out.shape[1:]))


# ---- the comparison --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    ours: Counts
    theirs: Counts
    max_error: float                  # largest |ours - theirs| over the logits
    scale: float                      # largest |theirs| logit
    saturations: dict[str, tuple[float, float]]

    @property
    def logits_agree(self) -> bool:
        return self.max_error <= LOGITS_TOLERANCE * max(1.0, self.scale)


def ours_counts(net: resdsl.Network) -> Counts:
    return Counts(params=net.params, buffers=net.totals.buffers, macs=net.macs, output=net.output_type.shape)


def compare(net: resdsl.Network, factory: Callable[[], nn.Module], logits_input: tuple[int, ...],
            seed: int = 0) -> Comparison:
    """Compare the checked network `net` with the reference model `factory()` (see the module doc).
    Raises (from `load_state_dict`) when the reference's state dict does not load strictly."""
    theirs_counts = count_reference(factory, net.input_type.shape)
    torch.manual_seed(seed)
    batch = torch.randn(2, *logits_input, generator=torch.Generator().manual_seed(seed + 1))
    reference = randomise_(factory(), batch, seed)
    # Our module is built on the meta device and takes the reference's tensors (`assign`): strict
    # loading checks every name and shape the same way, without a second copy of the weights.
    with torch.device("meta"):
        ours = resdsl.build(net)
    ours.load_state_dict(reference.state_dict(), strict=True, assign=True)
    ours.eval()
    x = batch[:1]
    with torch.no_grad():
        a = ours(x)
    b, sat = forward_watching_saturations(reference, x)
    return Comparison(ours=ours_counts(net), theirs=theirs_counts, max_error=float((a - b).abs().max()),
                      scale=float(b.abs().max()), saturations=sat)


def assert_equal_to_reference(net: resdsl.Network, factory: Callable[[], nn.Module],
                              logits_input: tuple[int, ...], seed: int = 0) -> Comparison:
    """`compare`, asserting every part of the equality; returns the comparison for further checks."""
    c = compare(net, factory, logits_input, seed)
    assert c.ours == c.theirs, f"ours {c.ours} != reference {c.theirs}"
    assert c.logits_agree, f"logits differ by {c.max_error:.3g} (largest logit {c.scale:.3g})"
    for name, (lo, hi) in c.saturations.items():
        low, high = SATURATING[name]
        assert hi > high and (low is None or lo < low), f"{name} inputs stayed in [{lo:.3g}, {hi:.3g}]"
    return c


def spec(relpath: str, **overrides) -> resdsl.Network:
    return resdsl.load(SPECS / relpath, **overrides)
