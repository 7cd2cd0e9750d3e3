"""Binding the arguments of a call to the parameters of what it calls: the one binder.

Blocks, primitive ops, `residual`, `stochastic_depth`, network families (in `network x = f(...)` and
in table rows) and the spec's own `def` functions all bind the same way: positional arguments first,
in the order of the parameters, then keywords; a parameter left out takes its default, which is
evaluated in the scope of the definition after the parameters before it (so `min_value=divisor`
works).
"""
from __future__ import annotations

from typing import Any, Callable, Protocol, Sequence

from resdsl.diagnostics import ArgumentError, NameResolutionError, SourceSpan, did_you_mean
from resdsl.syntax import ast


class Scope(Protocol):
    """What the binder needs of an environment (`values.Env`): a child scope to define parameters in."""

    def child(self, variables=None) -> "Scope": ...

    def define(self, name: str, value: Any) -> None: ...


def bind(params: Sequence[ast.Param], args: Sequence[ast.Arg], evaluate: Callable[[ast.Expr], Any],
         what: str, call_span: SourceSpan | None, *, scope: Scope,
         evaluate_in: Callable[[Scope, ast.Expr], Any],
         defaults: dict[str, Any] | None = None, fill: bool = True) -> dict[str, Any]:
    """Bind `args` (evaluated by `evaluate`, the caller's evaluator) to `params`.

    `defaults` (a primitive's table of defaults) take precedence over the parameters' own default
    expressions, which are evaluated by `evaluate_in(env, expr)` in a child of `scope`, the
    definition's environment, with the parameters bound so far.  With `fill=False` only the given
    arguments are returned, by parameter name (a table row's overrides of a family's parameters)."""
    names = [p.name for p in params]
    bound: dict[str, Any] = {}
    positional = 0
    for arg in args:
        if arg.name is None:
            if positional >= len(names):
                raise ArgumentError(f"{what} takes {len(names)} positional argument"
                                 f"{'s' if len(names) != 1 else ''}, got more", arg.span,
                                 f"its parameters are: {', '.join(names) or 'none'}")
            name = names[positional]
            positional += 1
        else:
            name = arg.name
            if name not in names:
                raise NameResolutionError(f"{what} has no parameter '{name}'", arg.span,
                                          did_you_mean(name, names) or
                                          f"its parameters are: {', '.join(names) or 'none'}")
        if name in bound:
            raise NameResolutionError(f"{what}: '{name}' is given twice", arg.span,
                                      spans_hint(name, _given_spans(params, args)))
        bound[name] = evaluate(arg.value)
    if not fill:
        return bound
    if defaults is not None:  # a primitive: its table fills every parameter not given (else the loop below)
        try:
            return {name: bound[name] if name in bound else defaults[name] for name in names}
        except KeyError:
            pass
    result: dict[str, Any] = {}
    env = None  # made for the first default expression (most calls have none): the parameters so far
    for p in params:
        name = p.name
        if name in bound:
            value = bound[name]
        elif defaults is not None and name in defaults:
            value = defaults[name]
        elif p.default is not None:
            if env is None:
                env = scope.child(result)
            value = evaluate_in(env, p.default)
        else:
            raise ArgumentError(f"{what} needs a value for '{name}'", call_span or p.span,
                                f"pass it, e.g. {name}=...")
        if env is not None:
            env.define(name, value)
        result[name] = value
    return result


def _given_spans(params: Sequence[ast.Param], args: Sequence[ast.Arg]) -> dict[str, SourceSpan]:
    """Where each parameter was first given (for the message of one given twice)."""
    spans: dict[str, SourceSpan] = {}
    positional = 0
    for arg in args:
        name = arg.name
        if name is None:
            name = params[positional].name if positional < len(params) else None
            positional += 1
        if name is not None:
            spans.setdefault(name, arg.span)
    return spans


def spans_hint(name: str, spans: dict[str, SourceSpan]) -> str:
    first = spans.get(name)
    return f"it was already given at {first}" if first else "give each argument once"
