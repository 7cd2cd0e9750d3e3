"""The activation functions: one entry each, with the facts every back end reads.

An `Activation` op names its function here.  Adding an activation is one entry below plus its
spellings in the torch back end (`backends/lowering.py` ACTIVATIONS) and the Python code generator
(`backends/pycode_ops.py` ACTIVATION_CODE); the completeness test (tests/test_op_set.py) names whatever
is missing.  The primitive of the same name (`relu6`, `leaky_relu slope=0.2`) is made from the entry.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Param:
    """An argument of an activation: a number, or one word of `choices`."""

    name: str
    default: float | str
    choices: tuple[str, ...] = ()
    minimum: float | None = None  # in-place backward needs a non-negative slope (leaky_relu, elu)


@dataclass(frozen=True)
class ActivationFacts:
    name: str
    title: str            # how a drawing names it next to the op it follows: "ReLU6"
    summary: str          # one line for the language reference
    inplace: bool         # may overwrite its input (PyTorch supports it and autograd allows it)
    params: tuple[Param, ...] = ()
    example: str = ""     # a use with arguments, for the docs and the tests ("leaky_relu slope=0.2")


_ENTRIES = (
    ActivationFacts("relu", "ReLU", "rectified linear unit, max(x, 0)", inplace=True),
    ActivationFacts("relu6", "ReLU6", "min(max(x, 0), 6) (MobileNetV2)", inplace=True),
    ActivationFacts("sigmoid", "sigmoid", "logistic sigmoid", inplace=False),
    ActivationFacts("hardsigmoid", "hard sigmoid", "relu6(x + 3) / 6 (MobileNetV3)", inplace=True),
    ActivationFacts("silu", "SiLU", "x · sigmoid(x), also called swish (EfficientNet)", inplace=True),
    ActivationFacts("hardswish", "hard swish", "x · relu6(x + 3) / 6 (MobileNetV3)", inplace=True),
    ActivationFacts("gelu", "GELU", "Gaussian error linear unit; approximate=tanh for its tanh form",
                    inplace=False, params=(Param("approximate", "none", ("none", "tanh")),),
                    example="gelu approximate=tanh"),
    ActivationFacts("leaky_relu", "leaky ReLU", "max(x, 0) + slope · min(x, 0)", inplace=True,
                    params=(Param("slope", 0.01, minimum=0.0),), example="leaky_relu 0.2"),
    ActivationFacts("elu", "ELU", "x if x > 0, else alpha · (exp(x) − 1)", inplace=True,
                    params=(Param("alpha", 1.0, minimum=0.0),), example="elu alpha=0.5"),
    ActivationFacts("tanh", "tanh", "hyperbolic tangent", inplace=False),
    ActivationFacts("softmax", "softmax", "softmax over the channels at every position", inplace=False),
    ActivationFacts("scale", "×", "x · factor, a constant (Inception-ResNet's scaled residuals)", inplace=False,
                    params=(Param("factor", 1.0),), example="scale 0.17"),
)

ACTIVATIONS: dict[str, ActivationFacts] = {a.name: a for a in _ENTRIES}
