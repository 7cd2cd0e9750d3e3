"""Writing the instances of one block definition as one class (the code generator's family step).

The IR keeps, for every block instance, the call that made it (`BlockCall`: the block's name and its bound
arguments).  The generator renders each instance's constructor with its literals as slots; here the
instances of one definition are unified:

  * `fit()` writes each slot as an expression of the class's parameters — the block's own parameters
    (named as in the spec) and `in_channels` (the width coming in, as torchvision's `inplanes`) — when one
    expression gives the slot's value in every instance (`width * expansion`, `in_channels + i * growth`);
  * `optional_forward()` checks that a member missing from some instances (ResNet's `downsample`) is
    optional in the torchvision sense: the forward of an instance without it is the full forward without
    that one line (`x = self.downsample(x)`), so the class takes `downsample=None` and writes
    `if self.downsample is not None:`.

Both only accept what they verify on the instances at hand; what they cannot express is left to the
caller (a slot becomes a parameter named after its layer, or the instances keep one class per shape).
Nothing here imports torch.
"""
from __future__ import annotations

import re
from typing import Any, Sequence

__all__ = ["fit", "optional_forward", "CHANNEL_FIELDS"]

# Constructor arguments that are widths: the ones a block's width parameters can explain.
CHANNEL_FIELDS = frozenset({"in_channels", "out_channels", "num_features", "in_features", "out_features",
                            "num_channels", "normalized_shape", "num_parameters", "channels", "groups",
                            "num_groups"})
_INPUT_FIELDS = frozenset({"in_channels", "in_features"})

Column = tuple[Any, ...]


def _ints(values: Sequence[Any]) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) for v in values)


def fit(values: Column, field: str, bases: Sequence[tuple[str, Column]]) -> str | None:
    """An expression of the bases' names whose value is `values[j]` in instance j, or None.

    A slot named like a parameter (`stride`, `groups`) is that parameter when the values agree.  Widths
    are tried as one base, a product of two, a base times or divided by a whole number, and (for widths
    that vary) a base plus a constant; the first that matches every instance wins, so the order of
    `bases` is the order of preference."""
    for name, column in bases:
        if name == field and column == values:
            return name
    if field == "count":  # how many times a loop runs: a whole-number parameter of the block
        return next((n for n, c in bases if n != "in_channels" and _ints(c) and c == values), None)
    if field not in CHANNEL_FIELDS:
        # Another argument (a kernel size, a child block's own parameter) is a parameter only when it
        # varies as that parameter does: a constant could equal one by chance.
        if len(set((type(v), v) for v in values)) > 1:
            return next((n for n, c in bases if c == values), None)
        return None
    if not _ints(values):
        return None
    ints = [(n, c) for n, c in bases if _ints(c)]
    order = ints
    if field in _INPUT_FIELDS:  # the first layer reads what comes in
        order = sorted(ints, key=lambda b: b[0] != "in_channels")
    for name, column in order:
        if column == values:
            return name
    for i, (a, ca) in enumerate(ints):
        for b, cb in ints[i + 1:]:
            if all(x * y == v for x, y, v in zip(ca, cb, values)):
                return f"{a} * {b}"
    varying = len(set(values)) > 1
    for name, column in order:
        if 0 in column:
            continue
        for m in range(2, 65):
            if all(c * m == v for c, v in zip(column, values)):
                return f"{name} * {m}"
            if all(c == v * m for c, v in zip(column, values)):
                return f"{name} // {m}"
    if varying:
        for name, column in order:
            d = values[0] - column[0]
            if d and all(v - c == d for c, v in zip(column, values)):
                return f"{name} + {d}" if d > 0 else f"{name} - {-d}"
    return None


def optional_forward(full: Sequence[str], missing: Sequence[str]) -> tuple[list[str], dict[str, int]] | None:
    """The forward of an instance that lacks the members `missing`, from the full forward: each missing
    member's line `T = self.M(T)` dropped.  Also where each such line is in `full`.  None when a missing
    member is used any other way (then it is not optional in torchvision's sense)."""
    where: dict[str, int] = {}
    for member in missing:
        pattern = re.compile(rf"^(\w+) = self\.{re.escape(member)}\(\1\)$")
        hits = [k for k, line in enumerate(full) if pattern.match(line)]
        mentions = [k for k, line in enumerate(full) if re.search(rf"\bself\.{re.escape(member)}\b", line)]
        if len(hits) != 1 or mentions != hits:
            return None
        where[member] = hits[0]
    dropped = set(where.values())
    return [line for k, line in enumerate(full) if k not in dropped], where
