"""resdsl: a small language and compiler for convolutional network architectures.

    >>> import resdsl
    >>> net = resdsl.load("specs/torchvision/resnet50.res")
    >>> net.params, net.macs
    (25557032, 4089184256)

`load` never imports torch; `build` (the PyTorch back end) does, lazily.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from resdsl.diagnostics import (BudgetError, LimitError, NameResolutionError, ResdslError, ShapeError,
                                    SpecSyntaxError, UsageError)
    from resdsl.network import Network

__version__ = "0.1.0"

# `import resdsl` imports nothing else: the names below are imported on first use (PEP 562), so a
# command or a script pays only for what it touches (`python -X importtime -c "import resdsl"`).
_LAZY = {"Network": "resdsl.network", **{name: "resdsl.diagnostics" for name in (
    "ResdslError", "SpecSyntaxError", "NameResolutionError", "ShapeError", "BudgetError", "LimitError",
    "UsageError")}}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'resdsl' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup is an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

__all__ = ["load", "check", "count", "draw", "build", "Network", "ResdslError", "SpecSyntaxError", "NameResolutionError",
           "ShapeError", "BudgetError", "LimitError", "UsageError", "__version__"]


def load(path_or_text: str | Path, network: str | None = None, **overrides: Any) -> Network:
    """Parse, elaborate and check a spec; return the checked network (IR with shapes and counts).

    `path_or_text` is a path to a .res file or the text of one.  `network` picks one network where the
    file defines several.  Keyword arguments override the network's parameters (`depth=101`).
    Every problem raises a `ResdslError` whose message names the file, line and column.
    """
    from resdsl.pipeline import load as _load

    return _load(path_or_text, network, overrides)


check = load


def count(path_or_text: "str | Path | Network", network: str | None = None, *, by: str = "stage",
          batch: int = 1, **overrides: Any) -> dict:
    """The count report (the `resdsl count --json` object) as a dict.  No torch."""
    from resdsl.backends.count import report

    net = _network(path_or_text, network, overrides)
    return report(net, batch=batch, by=by)


def draw(path_or_text: "str | Path | Network", output: "str | Path | None" = None, network: str | None = None,
         *, level: str = "block", max_nodes: int | None = None, **overrides: Any) -> str:
    """Draw a network: returns the DOT source, and writes `output` (.svg/.png/.pdf/.dot) when given.
    A drawing Graphviz would take too long to lay out raises `UsageError` before it runs, unless
    `max_nodes` asks for one of at most that many nodes (the deepest scopes collapsed first).  No torch."""
    from resdsl.backends import graphviz as gv

    net = _network(path_or_text, network, overrides)
    options = gv.DrawOptions(level=level, max_nodes=max_nodes)
    if output is None:
        return gv.to_dot([net], options)
    drawn = gv.views([net], options)
    gv.draw([net], Path(output), options, drawn)
    return gv.emit(drawn, options.rankdir)


def build(path_or_text: "str | Path | Network", network: str | None = None, **overrides: Any):
    """Build a `torch.nn.Module` from a spec (or an already checked network).  Imports torch."""
    from resdsl.backends.torch import build_module

    net = _network(path_or_text, network, overrides)
    return build_module(net)


def _network(path_or_text: "str | Path | Network", network: str | None, overrides: dict[str, Any]) -> "Network":
    from resdsl.network import Network

    return path_or_text if isinstance(path_or_text, Network) else load(path_or_text, network, **overrides)
