"""Applying a network's `InitPlan` (resdsl/ir/init.py) to a built module.

The work is `resdsl.backends.runtime.init_weights`, a runtime piece: the code generator copies its source
verbatim into a generated file, so `resdsl.build` and the generated class start from the same tensors
under the same seed.  It walks `model.named_modules()` in registration order and initialises each layer's
weight, then its bias, as torchvision's constructors do — the same draws in the same order.
"""
from __future__ import annotations

from torch import nn

from resdsl.backends.runtime import init_weights
from resdsl.ir.init import InitPlan

__all__ = ["init_weights", "apply_plan"]


def apply_plan(model: nn.Module, plan: InitPlan) -> None:
    """Apply a network's plan (nothing when the spec states no rules)."""
    if not plan.empty:
        by_type, by_path = plan.runtime_tables()
        init_weights(model, by_type, by_path)
