"""The spec's init rules written as the generated file's two tables (`INIT_BY_TYPE`, `INIT_BY_PATH`) that its
`init_weights` takes: fixed words, numbers and module paths only.  Nothing here imports torch.
"""
from __future__ import annotations

from typing import Any

from resdsl.backends.pycode_literals import check_literal
from resdsl.network import Network


def init_tables(net: Network) -> list[str]:
    """The spec's init rules as the two tables `init_weights` takes (fixed words, numbers and module paths)."""
    by_type, by_path = net.init.runtime_tables()
    lines = ["# How the weights start (the spec's `init` rules): per layer class, (the torch.nn.init function and its",
             "# arguments for the weight, the bias's constant); None keeps PyTorch's default.  INIT_BY_PATH: the",
             "# layers of this member whose rule differs from their class's (a block's own rules, residual BNs)."]
    for title, table in (("INIT_BY_TYPE", by_type), ("INIT_BY_PATH", by_path)):
        if not table:
            lines.append(f"{title} = {{}}")
            continue
        lines.append(f"{title} = {{")
        lines += [f"    {key!r}: {rule_literal(rule)}," for key, rule in table.items()]
        lines.append("}")
    return lines


def rule_literal(rule: tuple[Any, Any]) -> str:
    weight, bias = rule
    if bias is not None:
        check_literal(bias)
    if weight is not None:
        check_literal(weight[0])
        for k, v in weight[1].items():
            check_literal(k)
            check_literal(v)
        args = ", ".join(f"{k!r}: {v!r}" for k, v in weight[1].items())
        weight = f"({weight[0]!r}, {{{args}}})"
    return f"({weight}, {bias!r})"
