"""The activation functions: one entry each, with the facts every back end reads.

An `Activation` op names its function here.  Adding an activation is one entry below plus its
spellings in the torch back end (`backends/torch.py` ACTIVATIONS) and the Python code generator
(`backends/pycode.py` ACTIVATION_CODE); the completeness test (tests/test_op_set.py) names whatever
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
    summary: str = ""


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
    ActivationFacts("sigmoid", "sigmoid", "logistic sigmoid", inplace=False),
)

ACTIVATIONS: dict[str, ActivationFacts] = {a.name: a for a in _ENTRIES}
