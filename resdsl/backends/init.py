"""Applying a network's `InitPlan` (resdsl/ir/init.py) to a built module.

`init_weights` is a runtime piece: the code generator copies its source verbatim into a generated file
(it may use only `torch` and `nn`), so `resdsl.build` and the generated class start from the same
tensors under the same seed.  It walks `model.named_modules()` in registration order and initialises
each layer's weight, then its bias, as torchvision's constructors do in their `for m in self.modules()`
loops — the same draws in the same order.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from resdsl.ir.init import InitPlan

__all__ = ["init_weights", "apply_plan"]


def init_weights(model: nn.Module, by_type: dict[str, Any], by_path: dict[str, Any]) -> None:
    """Initialise the layers of `model` in module order.  A rule is (weight, bias): weight is None (keep
    PyTorch's default) or (name of a `torch.nn.init` function, its keyword arguments); bias is None
    (keep) or the constant it starts at.  `by_path` (module path -> rule) wins over `by_type` (module
    class name -> rule)."""
    with torch.no_grad():
        for name, module in model.named_modules():
            rule = by_path[name] if name in by_path else by_type.get(type(module).__name__)
            if rule is None:
                continue
            weight, bias = rule
            if weight is not None and getattr(module, "weight", None) is not None:
                getattr(nn.init, weight[0])(module.weight, **weight[1])
            if bias is not None and getattr(module, "bias", None) is not None:
                nn.init.constant_(module.bias, bias)


def apply_plan(model: nn.Module, plan: InitPlan) -> None:
    """Apply a network's plan (nothing when the spec states no rules)."""
    if not plan.empty:
        by_type, by_path = plan.runtime_tables()
        init_weights(model, by_type, by_path)
