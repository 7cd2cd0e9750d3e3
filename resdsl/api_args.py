"""Checking the arguments of the Python API (resdsl.load, count, draw, build), so that a wrong call gets a
`TypeError` (wrong type) or a `UsageError` (wrong value) that says what was expected, never a raw
ValueError or FileNotFoundError from deep inside."""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Sequence

from resdsl import limits
from resdsl.diagnostics import SourceSpan, UsageError, did_you_mean

API = SourceSpan("resdsl", 0, 0, 0, 0)  # a problem with the call itself, not a line of a spec


def load_arguments(what: str, source: Any, text: Any, network: Any, overrides: dict[str, Any]
                   ) -> tuple[str | Path, bool | None]:
    """(path or text, is_text) for the loader, after checking every argument's type and value."""
    if text is not None:
        if source is not None:
            raise TypeError(f"{what}() takes a path or text=, not both")
        if not isinstance(text, str):
            raise TypeError(f"{what}(text=...) takes the spec as a str, got {type(text).__name__}")
        result: tuple[str | Path, bool | None] = (text, True)
    elif isinstance(source, str):
        result = (source, None)  # the loader tells text from a path (see resdsl's module docstring)
    elif isinstance(source, os.PathLike):
        path = os.fspath(source)
        if not isinstance(path, str):
            raise TypeError(f"{what}() takes a str path, got a bytes path; decode it first")
        result = (Path(path), False)
    else:
        hint = "; decode the bytes first, e.g. resdsl.loads(data.decode())" if isinstance(source, (bytes, bytearray)) else ""
        raise TypeError(f"{what}() takes a path (str or os.PathLike) or spec text, got "
                        f"{type(source).__name__}{hint}")
    if network is not None and not isinstance(network, str):
        raise TypeError(f"{what}(network=...) takes a network name (str), got {type(network).__name__}")
    for name, value in overrides.items():
        overrides[name] = override_value(what, name, value)
    return result


def override_value(what: str, name: str, value: Any, depth: int = 0) -> Any:
    """A parameter override from Python, checked like a value written in a spec."""
    from resdsl.elaborate.values import Dims, Symbol

    if isinstance(value, bool) or isinstance(value, (Symbol, Dims)):
        return value
    if isinstance(value, int):
        if abs(value) >= 10 ** limits.MAX_INT_DIGITS:
            raise UsageError(f"{what}(): {name} has more than {limits.MAX_INT_DIGITS} digits", API)
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UsageError(f"{what}(): {name}={value} is not a finite number", API)
        return float(value)
    if isinstance(value, str):
        if len(value) > limits.MAX_VALUE_ITEMS:
            raise UsageError(f"{what}(): {name} is a string of {len(value):,} characters; the limit is "
                             f"{limits.MAX_VALUE_ITEMS:,}", API)
        return value
    if isinstance(value, (list, tuple, dict)):
        if depth >= limits.MAX_NESTING or len(value) > limits.MAX_VALUE_ITEMS:
            raise UsageError(f"{what}(): {name} is too large or nests too deeply", API)
        if isinstance(value, dict):
            return {override_value(what, name, k, depth + 1): override_value(what, name, v, depth + 1)
                    for k, v in value.items()}
        return [override_value(what, name, v, depth + 1) for v in value]
    raise TypeError(f"{what}(): the override {name} must be a number, bool, str, list or dict, got "
                    f"{type(value).__name__}")


def choice(what: str, name: str, value: Any, allowed: Sequence[str]) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what}({name}=...) takes a str, one of {', '.join(allowed)}; got {type(value).__name__}")
    if value not in allowed:
        raise UsageError(f"{what}(): unknown {name} {value!r}", API,
                         did_you_mean(value, allowed) or f"{name} is one of {', '.join(allowed)}")
    return value


def whole_number(what: str, name: str, value: Any, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what}({name}=...) takes a whole number (int), got {type(value).__name__}")
    if not minimum <= value <= maximum:
        raise UsageError(f"{what}(): {name} must be between {minimum:,} and {maximum:,}, got {value:,}", API)
    return value


def output_path(what: str, output: Any) -> Path | None:
    if output is None:
        return None
    if isinstance(output, os.PathLike):
        output = os.fspath(output)
    if not isinstance(output, str):
        raise TypeError(f"{what}(output=...) takes a path (str or os.PathLike), got {type(output).__name__}")
    if not output or "\x00" in output:
        raise UsageError(f"{what}(): output must name a file", API)
    return Path(output)
