"""resdsl: a small language and compiler for convolutional network architectures.

    >>> import resdsl
    >>> net = resdsl.load("specs/torchvision/resnet50.res")
    >>> net.params, net.macs
    (25557032, 4089184256)

`load` never imports torch; `build` (the PyTorch back end) does, lazily.

Every entry point raises only `ResdslError` subclasses for bad specs and bad values (`UsageError` for a
wrong call: an unknown level, a negative batch, an override given with a checked network), and
`TypeError` for an argument of the wrong type (bytes or None where a spec is expected, say).

Text or path: a `Path` (any `os.PathLike`) is a file; `text=` or `resdsl.loads(text)` is spec text.  A
plain string is text when it has a line break, or is one line starting like a spec (`network n { ... }`)
that names no existing file; otherwise it is a path (so `"specs/{x}.res"` is a path, and is reported
missing rather than parsed).
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from resdsl.diagnostics import (ArgumentError, BudgetError, EvaluationError, LimitError, NameResolutionError,
                                    RequirementError, ResdslError, ShapeError, SpecSyntaxError, StructureError,
                                    UsageError)
    from resdsl.network import Network

__version__ = "0.1.0"

# `import resdsl` imports nothing else: the names below are imported on first use (PEP 562), so a
# command or a script pays only for what it touches (`python -X importtime -c "import resdsl"`).
_LAZY = {"Network": "resdsl.network", **{name: "resdsl.diagnostics" for name in (
    "ResdslError", "SpecSyntaxError", "NameResolutionError", "ShapeError", "ArgumentError", "EvaluationError",
    "RequirementError", "StructureError", "BudgetError", "LimitError", "UsageError")}}


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


__all__ = ["load", "loads", "check", "count", "draw", "build", "fold", "Network", "ResdslError", "SpecSyntaxError",
           "NameResolutionError", "ShapeError", "ArgumentError", "EvaluationError",
           "RequirementError", "StructureError", "BudgetError", "LimitError", "UsageError", "__version__"]

Source = "str | os.PathLike[str] | Network"


def load(path_or_text: "str | os.PathLike[str] | None" = None, network: str | None = None, *,
         text: str | None = None, **overrides: Any) -> Network:
    """Parse, elaborate and check a spec; return the checked network (IR with shapes and counts).

    `path_or_text` is a path to a .res file (a `Path`, or a string as the module docstring says) or spec
    text; `text=` gives spec text explicitly.  `network` picks one network where the file defines several.
    Keyword arguments override the network's parameters (`depth=101`).  Every problem in the spec raises
    a `ResdslError` whose message names the file, line and column.
    """
    from resdsl.api_args import load_arguments
    from resdsl.pipeline import load as _load

    source, is_text = load_arguments("load", path_or_text, text, network, overrides)
    return _load(source, network, overrides, is_text=is_text)


def loads(text: str, network: str | None = None, **overrides: Any) -> Network:
    """`load` of spec text: the string is never taken for a file name."""
    return load(None, network, text=text, **overrides)


check = load


def count(path_or_text: Source, network: str | None = None, *, by: str = "stage", batch: int = 1,
          text: str | None = None, **overrides: Any) -> dict:
    """The count report (the `resdsl count --json` object) as a dict.  No torch."""
    from resdsl.api_args import choice, whole_number
    from resdsl.backends.count import LEVELS, report
    from resdsl.commands.count import MAX_BATCH

    by = choice("count", "by", by, LEVELS)
    batch = whole_number("count", "batch", batch, 1, MAX_BATCH)
    return report(_network("count", path_or_text, network, text, overrides), batch=batch, by=by)


def draw(path_or_text: Source, output: "str | os.PathLike[str] | None" = None, network: str | None = None, *,
         level: str = "block", max_nodes: int | None = None, text: str | None = None, **overrides: Any) -> str:
    """Draw a network: returns the DOT source, and writes `output` (.svg/.png/.pdf/.dot) when given.
    A drawing Graphviz would take too long to lay out raises `UsageError` before it runs, unless
    `max_nodes` asks for one of at most that many nodes (the deepest scopes collapsed first).  The output
    may not be one of the spec's files, nor a device or pipe.  No torch."""
    from resdsl.api_args import API, choice, output_path, whole_number
    from resdsl.backends import graphviz as gv
    from resdsl.diagnostics import SourceSpan, UsageError
    from resdsl.outputs import check_output

    level = choice("draw", "level", level, ("stage", "block", "op"))
    if max_nodes is not None:
        max_nodes = whole_number("draw", "max_nodes", max_nodes, 1, 10 ** 9)
    target = output_path("draw", output)
    if target is not None:
        gv.format_for(target)
    net = _network("draw", path_or_text, network, text, overrides)
    options = gv.DrawOptions(level=level, max_nodes=max_nodes)
    if target is None:
        return gv.to_dot([net], options)
    check_output(target, net.inputs, SourceSpan("resdsl.draw(output=...)", 0, 0, 0, 0))
    drawn = gv.views([net], options)
    try:
        gv.draw([net], target, options, drawn)
    except OSError as err:
        raise UsageError(f"cannot write {target}: {err.strerror or err}", API,
                         "check the path, its permissions and the free space") from None
    return gv.emit(drawn, options.rankdir)


def build(path_or_text: Source, network: str | None = None, *, text: str | None = None, inference: bool = False,
          **overrides: Any):
    """Build a `torch.nn.Module` from a spec (or an already checked network), its weights initialised
    as the spec's `init` rules say (PyTorch's defaults where it states none).  With `inference=True`
    the result is `fold(...)` of it: an eval-mode module with every BN after a conv folded into the
    conv, no dropout or drop-path (docs/compile.md, "Inference").  Imports torch."""
    if not isinstance(inference, bool):
        raise TypeError(f"build(inference=...) takes True or False, got {type(inference).__name__}")
    net = _network("build", path_or_text, network, text, overrides)
    from resdsl.backends.init import apply_plan
    from resdsl.backends.torch import build_module

    model = build_module(net)
    apply_plan(model, net.init)
    return fold(model) if inference else model


def fold(model, channels_last: bool = True):
    """A module made by `build`, with the weights it has now (trained or loaded), as a plain eval-mode
    module of its inference network: each BN that directly follows a conv (or fc) folded into it, dropout
    and drop-path gone.  Its `state_dict` is the folded one: the original's keys without the folded BNs',
    each folded layer with a `bias`.  The conv weights are stored channels-last (faster; `channels_last=False`
    keeps them contiguous).  Imports torch."""
    from resdsl.backends.inference import fold as fold_module

    if not isinstance(channels_last, bool):
        raise TypeError(f"fold(channels_last=...) takes True or False, got {type(channels_last).__name__}")
    return fold_module(model, channels_last)


def _network(what: str, source: Any, network: str | None, text: str | None, overrides: dict) -> Network:
    """The checked network an entry point works on: the one given, or one loaded from a spec."""
    from resdsl.api_args import API
    from resdsl.diagnostics import UsageError
    from resdsl.network import Network

    if isinstance(source, Network):
        if network is not None or overrides or text is not None:
            given = ", ".join([*(["network"] if network is not None else []), *(["text"] if text is not None else []),
                               *overrides])
            raise UsageError(f"{what}() was given a checked network and {given}: those apply when a spec is "
                             "loaded, and would be ignored", API,
                             f"pass the spec instead (resdsl.{what}(path, {given.split(', ')[0]}=...)), or "
                             "load it with them first")
        return source
    return load(source, network, text=text, **overrides)
