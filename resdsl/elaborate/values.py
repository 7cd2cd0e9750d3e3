"""Values of the spec language and the expression evaluator.

Expressions are evaluated here by walking the AST: nothing in a spec is ever handed to Python's
`eval`.  Values are ints, floats, bools, strings, symbols (A, B, C, none, gated, ...), sizes (`3x3`),
lists, maps and references to tensors computed earlier (`@conv1`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping

from resdsl import limits
from resdsl.diagnostics import (EvaluationError, LimitError, NameResolutionError, RequirementError, ResdslError,
                                SourceSpan, SpecSyntaxError, did_you_mean)
from resdsl.elaborate.binding import bind
from resdsl.elaborate.work import WorkBudget, number_error
from resdsl.ir.types import TensorType
from resdsl.syntax import ast


@dataclass(frozen=True)
class Symbol:
    """A bare word with a meaning of its own: shortcut kinds, `max`/`avg`, `none`."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Dims:
    """A size written like `3x3` or `3x224x224`."""

    values: tuple[int, ...]

    def __str__(self) -> str:
        return "x".join(map(str, self.values))


@dataclass(frozen=True, slots=True)
class TensorRef:
    """A tensor value of the graph under construction: a node id and its type."""

    node: int
    type: TensorType


_SET_REF_NODE, _SET_REF_TYPE = TensorRef.node.__set__, TensorRef.type.__set__


def new_ref(node: int, type: TensorType) -> TensorRef:
    """`TensorRef(node, type)` for the builder's hot path (one per node made): the frozen dataclass's
    `__init__` sets each field through `object.__setattr__`, most of the cost of making one; this
    writes the slots directly (as `resdsl.ir.graph.new_node` does for nodes).  An ordinary TensorRef."""
    ref = object.__new__(TensorRef)
    _SET_REF_NODE(ref, node)
    _SET_REF_TYPE(ref, type)
    return ref


@dataclass(frozen=True)
class Function:
    """A `def` of the spec: a pure function of values, called like a built-in one."""

    definition: ast.FuncDef

    @property
    def name(self) -> str:
        return self.definition.name


@dataclass(frozen=True)
class Parts:
    """The parts of a `split` / `chunk`: part i is the input of branch i of the merge that follows."""

    refs: tuple[TensorRef, ...]
    source: TensorRef  # the tensor that was split
    span: SourceSpan

    @property
    def type(self) -> TensorType:
        return self.source.type


SYMBOLS = {name: Symbol(name) for name in ("A", "B", "C", "none", "gated", "max", "avg", "auto",
                                                 "tanh", "nearest", "bilinear", "paper", "row", "batch")}
CONSTANTS: dict[str, Any] = {"true": True, "false": False, **SYMBOLS}

def _log(x: Any, base: Any = None) -> float:
    _real(x, "log")
    if x <= 0:
        raise ValueError(f"the logarithm of {show(x)} is undefined (it needs a positive number)")
    if base is None:
        return math.log(x)
    _real(base, "log")
    if base <= 0 or base == 1:
        raise ValueError(f"a logarithm's base is positive and not 1, got {show(base)}")
    return math.log(x) / math.log(base)


def _log2(x: Any) -> float:
    _real(x, "log2")
    if x <= 0:
        raise ValueError(f"the logarithm of {show(x)} is undefined (it needs a positive number)")
    return math.log2(x)


def _sqrt(x: Any) -> float:
    _real(x, "sqrt")
    if x < 0:
        raise ValueError(f"the square root of {show(x)} is not a real number")
    return math.sqrt(x)


def _exp(x: Any) -> float:
    _real(x, "exp")
    return math.exp(x)


def _round_to(x: Any, multiple: Any) -> int | float:
    """The multiple of `multiple` nearest to `x` (halves to even, as `round`): round_to(37, 8) == 40."""
    _real(x, "round_to")
    _real(multiple, "round_to")
    if multiple <= 0:
        raise ValueError(f"the multiple must be positive, got {show(multiple)}")
    value = round(x / multiple) * multiple
    return int(value) if float(value).is_integer() else value


def _range(*bounds: Any) -> list[int]:
    if not 1 <= len(bounds) <= 3:
        raise TypeError(f"range takes 1 to 3 whole numbers, got {len(bounds)}")
    for b in bounds:
        if isinstance(b, bool) or not isinstance(b, int):
            raise ValueError(f"range takes whole numbers, got {type_name(b)} ({show(b)})")
    if len(bounds) == 3 and bounds[2] == 0:
        raise ValueError("range's step cannot be 0")
    r = range(*bounds)
    if len(r) > limits.MAX_REPEATS:
        raise ValueError(f"range has {len(r):,} elements; the limit is {limits.MAX_REPEATS:,}")
    return list(r)


def _sum(items: Any) -> int | float:
    if not isinstance(items, list):
        raise ValueError(f"sum takes a list, got {type_name(items)}")
    for v in items:
        _real(v, "sum")
    return sum(items)


def _real(v: Any, what: str) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"{what} needs numbers, got {type_name(v)} ({show(v)})")


def _float(x: Any) -> float:
    _real(x, "float")
    return float(x)


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "min": min, "max": max, "abs": abs, "int": lambda x: int(x), "floor": lambda x: math.floor(x),
    "ceil": lambda x: math.ceil(x), "round": lambda x: int(round(x)), "len": len,
    "size": lambda *dims: Dims(tuple(_whole(d) for d in dims)),
    "float": _float, "log": _log, "log2": _log2, "exp": _exp, "sqrt": _sqrt,
    "pow": lambda a, b: power(a, b), "round_to": _round_to, "range": _range, "sum": _sum,
}
BUILTIN_FUNCTIONS = frozenset(_FUNCTIONS)


def _whole(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < 1:
        raise ValueError(f"sizes are whole numbers of at least 1, got {value!r}")
    return int(value)


def value_types(value: Any) -> object:
    """The types inside a value, for keys that must tell 1 from 1.0 (which == and hash do not)."""
    t = type(value)
    if t is tuple:
        return tuple(map(value_types, value))
    if t is Dims:
        return (Dims, tuple(map(value_types, value.values)))
    return t


def type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Symbol):
        return f"the word {value.name}"
    if isinstance(value, Dims):
        return f"the size {value}"
    if isinstance(value, TensorRef):
        return "a tensor"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a map"
    return type(value).__name__


def show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, TensorRef):
        return f"tensor {value.type}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class Env:
    """Immutable-by-convention variable scope: `child()` makes a new frame over this one.  Every frame
    of one elaboration shares the root's work budget."""

    __slots__ = ("_vars", "_parent", "budget")

    def __init__(self, variables: Mapping[str, Any] | None = None, parent: "Env | None" = None,
                 budget: WorkBudget | None = None):
        self._vars = dict(variables or {})
        self._parent = parent
        self.budget = budget or (parent.budget if parent is not None else WorkBudget())

    def child(self, variables: Mapping[str, Any] | None = None) -> "Env":
        return Env(variables, self)

    def define(self, name: str, value: Any) -> None:
        self._vars[name] = value

    def defined_here(self, name: str) -> bool:
        return name in self._vars

    def lookup(self, name: str) -> tuple[bool, Any]:
        env: Env | None = self
        while env is not None:
            if name in env._vars:
                return True, env._vars[name]
            env = env._parent
        return False, None

    def home(self, name: str) -> "Env | None":
        """The scope that defines `name` (a function's body is evaluated in a child of its home)."""
        env: Env | None = self
        while env is not None:
            if name in env._vars:
                return env
            env = env._parent
        return None

    def names(self) -> set[str]:
        out: set[str] = set()
        env: Env | None = self
        while env is not None:
            out.update(env._vars)
            env = env._parent
        return out


class Work:
    """Steps spent by one evaluation (comprehension items and function calls), shared with the
    evaluators of the functions it calls, so nested comprehensions cannot run away."""

    __slots__ = ("steps",)

    def __init__(self) -> None:
        self.steps = 0

    def spend(self, n: int, span: SourceSpan) -> None:
        self.steps += n
        if self.steps > limits.MAX_EVAL_STEPS:
            raise LimitError(f"this expression takes more than {limits.MAX_EVAL_STEPS:,} steps to evaluate",
                             span, "simplify it: are comprehensions or functions nested too deeply?")


class Evaluator:
    """Evaluates expressions against an environment and the tensors of the current block."""

    __slots__ = ("env", "tensors", "_work")

    def __init__(self, env: Env, tensors: Mapping[str, TensorRef], work: Work | None = None):
        self.env = env
        self.tensors = tensors
        self._work = work  # made when first needed: most evaluations are of a number or a name

    @property
    def work(self) -> Work:
        if self._work is None:
            self._work = Work()
        return self._work

    def eval(self, e: ast.Expr) -> Any:
        budget = self.env.budget
        budget.steps += 1  # budget.step(e.span), inlined: this runs for every term
        if budget.steps > budget.max_steps:
            budget.step(e.span, 0)  # raises the located LimitError
        method = _EVALUATE.get(type(e))  # a table, not getattr by name: eval runs for every term
        if method is None:
            return budget.value(getattr(self, "_" + type(e).__name__)(e), e.span)
        return budget.value(method(self, e), e.span)

    def _Number(self, e: ast.Number):
        return e.value

    def _DimsLit(self, e: ast.DimsLit):
        return Dims(e.values)

    def _String(self, e: ast.String):
        return e.value

    def _Name(self, e: ast.Name):
        found, value = self.env.lookup(e.name)
        if found:
            return value
        if e.name in CONSTANTS:
            return CONSTANTS[e.name]
        hint = did_you_mean(e.name, self.env.names() | set(CONSTANTS))
        if hint is None and len(e.name) == 1 and e.name.isupper():
            hint = "shortcut kinds are A, B, C, none and gated"
        if hint is None and _is_callable_name(e.name):
            hint = f"'{e.name}' is an op or block, not a value: is a ',' missing before it?"
        raise NameResolutionError(f"unknown name '{e.name}'", e.span,
                                  hint or "declare it as a parameter or with `let`")

    def _ValueRef(self, e: ast.ValueRef):
        if e.attr is not None:
            return self._tensor_attr(e.name, e.attr, e.span)
        return self.tensor(e.name, e.span)

    def _tensor_attr(self, name: str, attr: str, span: SourceSpan):
        """`@t.c` (a dimension), or `@block.pool` / `@block.inner.pool`: a max pool labelled inside the
        labelled block (at any depth), optionally followed by one of its dimensions (`@block.pool.c`)."""
        inner = self.tensors.get(f"{name}.{attr}")
        if inner is not None:
            return inner
        path, _, last = attr.rpartition(".")
        if last in TENSOR_ATTRS:
            if not path:
                return tensor_attr(self.tensor(name, span), last, span)
            inner = self.tensors.get(f"{name}.{path}")
            if inner is not None:
                return tensor_attr(inner, last, span)
        ref = self.tensor(name, span)
        pools = sorted("@" + k for k in self.tensors if k.startswith(f"{name}."))
        if pools:
            raise NameResolutionError(f"@{name} has no max pool labelled '{attr}'", span,
                                      did_you_mean(f"@{name}.{attr}", pools) or
                                      "its max pools are " + ", ".join(pools))
        return tensor_attr(ref, attr, span)

    def tensor(self, name: str, span: SourceSpan) -> TensorRef:
        ref = self.tensors.get(name)
        if ref is None:
            found, value = self.env.lookup(name)  # a tensor passed as a block argument
            if found and isinstance(value, TensorRef):
                return value
            hint = did_you_mean(name, self.tensors)
            hint = hint.replace("'", "'@", 1).replace(" or '", " or '@").replace(", '", ", '@") if hint else None
            raise NameResolutionError(
                f"no tensor named '@{name}' here", span,
                hint or "label an earlier item (`conv1: conv 3x3 64`) and refer to it as @conv1; "
                        "@in is the block's input")
        return ref

    def _BinOp(self, e: ast.BinOp):
        if e.op in ("and", "or"):
            left = self.truth(e.left)
            if e.op == "and":
                return left and self.truth(e.right)
            return left or self.truth(e.right)
        a, b = self.eval(e.left), self.eval(e.right)
        return binary(e.op, a, b, e.span)

    def _UnaryOp(self, e: ast.UnaryOp):
        if e.op == "not":
            return not self.truth(e.operand)
        v = self.eval(e.operand)
        _need_number(v, e.span, "'-'")
        return -v

    def _Conditional(self, e: ast.Conditional):
        return self.eval(e.then) if self.truth(e.cond) else self.eval(e.otherwise)

    def _ListLit(self, e: ast.ListLit):
        return [self.eval(i) for i in e.items]

    def _MapLit(self, e: ast.MapLit):
        out = {}
        for k, v in e.entries:
            key = self.eval(k)
            if isinstance(key, (list, dict, TensorRef)):
                raise SpecSyntaxError("map keys are numbers, words, strings or sizes", k.span)
            out[key] = self.eval(v)
        return out

    def _Index(self, e: ast.Index):
        target, index = self.eval(e.target), self.eval(e.index)
        if isinstance(target, list):
            if not isinstance(index, int) or isinstance(index, bool):
                raise EvaluationError(f"a list index must be a whole number, got {type_name(index)}", e.index.span)
            if not -len(target) <= index < len(target):
                raise EvaluationError(f"index {index} is out of range for a list of {len(target)}", e.index.span)
            return target[index]
        if isinstance(target, dict):
            if isinstance(index, (list, dict, TensorRef)):  # unhashable, and never a key (see _MapLit)
                raise EvaluationError(f"a map key is a number, word, string or size, not {type_name(index)}",
                                 e.index.span)
            if index not in target:
                keys = ", ".join(show(k) for k in target)
                raise NameResolutionError(f"{show(index)} is not a key of this map", e.index.span,
                                          f"the keys are: {keys}")
            return target[index]
        raise EvaluationError(f"cannot index {type_name(target)}", e.span)

    def _Attr(self, e: ast.Attr):
        names, root = [e.name], e.target
        while isinstance(root, ast.Attr):  # `@a.b.pool.c` in an expression: one dotted path
            names.append(root.name)
            root = root.target
        if isinstance(root, ast.ValueRef):
            path = ".".join(([root.attr] if root.attr else []) + names[::-1])
            return self._tensor_attr(root.name, path, e.span)
        target = self.eval(e.target)
        if isinstance(target, TensorRef):
            return tensor_attr(target, e.name, e.span)
        if isinstance(target, Dims) and e.name in ("h", "w", "c"):
            return dims_attr(target, e.name, e.span)
        raise NameResolutionError(f"{type_name(target)} has no attribute '{e.name}'", e.span)

    def _ListComp(self, e: ast.ListComp):
        items = self.eval(e.iterable)
        if not isinstance(items, list):
            raise EvaluationError(f"a comprehension runs over a list, got {type_name(items)}", e.iterable.span,
                             "use range(n) for the numbers 0 .. n-1")
        self.work.spend(len(items), e.span)
        out = []
        for item in items:
            inner = Evaluator(self.env.child({e.var: item}), self.tensors, self.work)
            if e.cond is None or inner.truth(e.cond):
                out.append(inner.eval(e.item))
        return out

    def _FuncCall(self, e: ast.FuncCall):
        found, value = self.env.lookup(e.name)
        if found and isinstance(value, Function):
            return self.call(value, e)
        fn = _FUNCTIONS.get(e.name)
        if fn is None:
            if found:
                raise EvaluationError(f"'{e.name}' is {type_name(value)}, not a function", e.span)
            known = set(_FUNCTIONS) | {n for n in self.env.names()
                                       if isinstance(self.env.lookup(n)[1], Function)}
            raise NameResolutionError(f"unknown function '{e.name}'", e.span,
                                      did_you_mean(e.name, known) or
                                      "functions: " + ", ".join(sorted(known)) +
                                      "; define your own with `def NAME(params) = ...`")
        if e.keywords:
            name, _, span = e.keywords[0]
            raise NameResolutionError(f"the built-in {e.name}() takes no keyword arguments (got {name}=)", span)
        args = [self.eval(a) for a in e.args]
        try:
            return fn(*args)
        except (TypeError, ValueError, OverflowError, ZeroDivisionError) as err:
            raise EvaluationError(f"{e.name}() cannot take these arguments: {err}", e.span) from None

    def call(self, function: Function, e: ast.FuncCall):
        """Call a `def`: bind its arguments, run its `let`s and `require`s, evaluate its result in a
        scope of its own (it sees its parameters and the functions beside it, nothing of the caller)."""
        d = function.definition
        self.work.spend(1, e.span)
        home = self.env.home(e.name) or self.env
        args = tuple(ast.Arg(a.span, None, a) for a in e.args) + \
            tuple(ast.Arg(span, name, value) for name, value, span in e.keywords)
        try:
            bound = bind(d.params, args, self.eval, f"function {d.name}", e.span, scope=home,
                         evaluate_in=lambda env, expr: Evaluator(env, {}, self.work).eval(expr))
            env = home.child(bound)
            inner = Evaluator(env, {}, self.work)
            for step in d.steps:
                if isinstance(step, ast.Let):
                    if env.defined_here(step.name):
                        raise NameResolutionError(f"'{step.name}' is already defined here", step.span,
                                                  "pick another name; values cannot be reassigned")
                    env.define(step.name, inner.eval(step.value))
                elif not inner.truth(step.cond):
                    raise RequirementError(step.message or f"a requirement of {d.name} is not met", step.span)
            return inner.eval(d.result)
        except ResdslError as err:
            raise _called_from(err, e.span, d.name) from None

    def truth(self, e: ast.Expr) -> bool:
        v = self.eval(e)
        if not isinstance(v, bool):
            raise EvaluationError(f"expected true or false, got {type_name(v)} ({show(v)})", e.span,
                             "compare with ==, !=, <, ...")
        return v


# Evaluator._Number for ast.Number, ...: each expression node's method, looked up by type.
_EVALUATE = {getattr(ast, name[1:]): method for name, method in vars(Evaluator).items()
             if name.startswith("_") and name[1:2].isupper() and isinstance(getattr(ast, name[1:], None), type)}


def _called_from(err: ResdslError, span: SourceSpan, name: str) -> ResdslError:
    """Note the call site on an error raised inside a function's body."""
    if err.span.file == span.file and (err.span.line, err.span.column) == (span.line, span.column):
        return err
    first = err.diagnostics[0]
    err.diagnostics = (replace(first, notes=first.notes + ((span, f"in this call of {name}"),)),
                       *err.diagnostics[1:])
    return err


def _is_callable_name(name: str) -> bool:
    from resdsl.elaborate.primitives import PRIMITIVES  # (primitives imports this module)

    return name in PRIMITIVES or name == "identity"


TENSOR_ATTRS = ("c", "channels", "h", "height", "w", "width")


def tensor_attr(ref: TensorRef, attr: str, span: SourceSpan) -> int:
    t = ref.type
    if not t.is_image and attr in ("h", "height", "w", "width"):
        raise NameResolutionError(f"a flat vector ({t}) has no .{attr}", span, "use .c for its length")
    table = {"c": t.channels, "channels": t.channels, "h": t.height, "height": t.height,
             "w": t.width, "width": t.width}
    if attr not in table:
        raise NameResolutionError(f"a tensor has no attribute '{attr}'", span,
                                  did_you_mean(attr, table) or "use .c, .h or .w")
    return table[attr]


def dims_attr(d: Dims, attr: str, span: SourceSpan) -> int:
    v = d.values
    if len(v) == 3:
        return {"c": v[0], "h": v[1], "w": v[2]}[attr]
    if len(v) == 2 and attr in ("h", "w"):
        return v[0] if attr == "h" else v[1]
    raise NameResolutionError(f"the size {d} has no attribute '{attr}'", span)


def _need_number(v: Any, span: SourceSpan, what: str) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise EvaluationError(f"{what} needs numbers, got {type_name(v)} ({show(v)})", span)


def binary(op: str, a: Any, b: Any, span: SourceSpan) -> Any:
    if op in ("==", "!="):
        equal = a == b and type(a) is type(b) or (_is_num(a) and _is_num(b) and a == b)
        return equal if op == "==" else not equal
    if op == "+" and isinstance(a, list) and isinstance(b, list):
        return a + b
    if op == "+" and isinstance(a, str) and isinstance(b, str):
        return a + b
    _need_number(a, span, f"'{op}'")
    _need_number(b, span, f"'{op}'")
    if op in ("<", "<=", ">", ">="):
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    if op in ("/", "//", "%") and b == 0:
        raise EvaluationError("division by zero", span)
    if op == "**":
        try:
            return power(a, b)
        except (ValueError, OverflowError, ZeroDivisionError) as err:
            raise EvaluationError(f"cannot compute {show(a)} ** {show(b)}: {err}", span) from None
    try:
        return _arithmetic(op, a, b)
    except OverflowError:
        raise number_error(f"'{op}' overflows here", span) from None


def _arithmetic(op: str, a: Any, b: Any) -> Any:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    whole = isinstance(a, int) and isinstance(b, int)
    if op == "/":
        return a // b if whole and a % b == 0 else a / b
    if op == "//":
        q = a // b
        return q if whole else int(q)  # int(inf) raises OverflowError, reported as an overflow
    if op == "%":
        return a % b
    raise AssertionError(op)


def power(a: Any, b: Any) -> int | float:
    """`a ** b` on real numbers: whole numbers stay whole for a whole exponent >= 0; results too large
    to be a size or a count, and complex ones, are refused."""
    for v in (a, b):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError(f"** needs numbers, got {type_name(v)} ({show(v)})")
    if a == 0 and b < 0:
        raise ZeroDivisionError("0 to a negative power")
    if a < 0 and not float(b).is_integer():
        raise ValueError("a negative number to a fractional power is not a real number")
    if abs(a) > 1 and b * math.log2(abs(a)) > 1024:
        raise OverflowError("the result is too large")
    return a ** b


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)
