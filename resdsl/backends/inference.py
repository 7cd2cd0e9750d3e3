"""Inference lowering in torch: fold a built network's trained (or fresh) weights into the network of
`resdsl.backends.inference_network` and return it as a plain eval-mode module.

For a conv (or linear) with weight W and bias b followed by a BN with scale g, shift beta, running mean
m and variance v, the folded layer has W' = W * s and b' = (b - m) * s + beta with s = g / sqrt(v + eps)
per output channel: its eval output equals the BN's.  The arithmetic runs in float64 and is stored in
the layer's dtype.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from resdsl.backends.inference_network import Fold, inference_network
from resdsl.diagnostics import UsageError, SourceSpan

__all__ = ["fold", "fold_state_dict"]

_BN_KEYS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def fold_state_dict(state: dict[str, torch.Tensor], folds: tuple[Fold, ...]) -> dict[str, torch.Tensor]:
    """The state of the folded network from the state of the original one."""
    gone = {f"{f.bn}.{k}" for f in folds for k in _BN_KEYS}
    out = {k: v.clone() for k, v in state.items() if k not in gone}  # the folded module owns its tensors
    for f in folds:
        w = state[f"{f.layer}.weight"]
        mean = state[f"{f.bn}.running_mean"].double()
        var = state[f"{f.bn}.running_var"].double()
        gamma = state.get(f"{f.bn}.weight")
        beta = state.get(f"{f.bn}.bias")
        s = (gamma.double() if gamma is not None else torch.ones_like(mean)) / torch.sqrt(var + f.eps)
        bias = state[f"{f.layer}.bias"].double() if f.had_bias else torch.zeros_like(mean)
        shift = beta.double() if beta is not None else torch.zeros_like(mean)
        out[f"{f.layer}.weight"] = (w.double() * s.reshape(-1, *([1] * (w.dim() - 1)))).to(w.dtype)
        out[f"{f.layer}.bias"] = ((bias - mean) * s + shift).to(w.dtype)
    return out


def fold(model: nn.Module, channels_last: bool = True) -> nn.Module:
    """`model` (a module made by `resdsl.build`, with the weights it has now) as an eval-mode module of
    the inference network: BNs folded, dropout and drop-path gone.  `channels_last` stores the conv
    weights channels-last, so convs run in that layout whatever the input's (faster on the CPU we
    measured, bench/bench_inference.py, and on most GPUs); False keeps them contiguous."""
    from resdsl.backends.torch import build_module

    net = getattr(model, "resdsl_network", None)
    if net is None:
        raise UsageError("fold() takes a module made by resdsl.build", SourceSpan("resdsl.fold", 0, 0, 0, 0),
                         "build it with resdsl.build(spec), load your weights, then fold it")
    lowering = inference_network(net)
    state = fold_state_dict(model.state_dict(), lowering.folds)
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    with torch.device("meta"):
        folded = build_module(lowering.network)
    kept = set(folded.state_dict())  # the aux heads' tensors go with the heads
    dropped = {n.path for n in net.graph.nodes if n.op.is_layer} - {n.path for n in lowering.network.graph.nodes}
    state = {k: v for k, v in state.items() if k in kept or not any(k.startswith(p + ".") for p in dropped)}
    try:
        folded.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as err:  # a submodule replaced after build (model.fc = ...) no longer fits the spec
        raise UsageError(f"the module's weights do not fit its spec's network: {str(err).splitlines()[0]}",
                         SourceSpan("resdsl.fold", 0, 0, 0, 0),
                         "fold the module as resdsl.build made it, before replacing submodules") from None
    folded = folded.to(device).eval()
    if channels_last:
        folded = folded.to(memory_format=torch.channels_last)
    return folded
