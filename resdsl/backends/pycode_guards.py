"""A block's own conditions, read from its definition and written in Python over the generated class's parameters.

The code generator writes one class per block definition; a part only some instances have (an entry of an
`nn.Sequential`, a forward statement, one of two forwards) needs the condition under which it is there.
`pycode_family.condition` *fits* one to the instances at hand; this module *reads* it from the spec: the
`if` statements enclosing the part in the block's body (`if expanded != @in.c { ... }`, `if stride == 1 {
... } else { ... }`) and, for a residual's add, the shortcut its kind expression chooses (`let shortcut = B
if stride == 1 and @in.c == out else none`).  The IR keeps each instance's call with the block's definition
as written (`ir.graph.BlockCall.definition`, an `ast.BlockDef` with spans), so a part is found by the span
of the op or call that made it.

An expression is translated into a small tree (`Tree`: nested tuples) that is both rendered as Python
(`render`) and evaluated (`evaluate`), so a caller can check the reading against every instance before it
writes it: `@in.c` is `in_channels`, a block parameter its name, a `let` its value (inlined), `and/or/not`,
comparisons, arithmetic, `X if C else Y`, the built-ins min, max, abs, int and the spec's own `def`s (called
as Python functions of the same name, written by `function_source`).  Parameters whose values cannot be
written as literals (a shortcut kind `B`, a size) are folded to the one value all instances share.  What
cannot be read faithfully raises `Unreadable` with the reason.  Nothing here imports torch, and nothing of
the spec runs: names are checked identifiers, literals are numbers, bools and option words.
"""
from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from resdsl.diagnostics import SourceSpan
from resdsl.syntax import ast

__all__ = ["Unreadable", "Defaulted", "Reader", "Tree", "render", "evaluate", "names_in", "locate", "Place",
           "function_source", "negate", "presence", "argument", "compare", "check", "fixed_values", "from_python",
           "writable"]

Tree = tuple  # ("const", v) | ("var", name) | ("bin", op, a, b) | ("and"|"or", a, b) | ("not", a) | ("neg", a)
#               | ("if", cond, then, otherwise) | ("call", builtin, args) | ("fn", spec function, args)


class Unreadable(Exception):
    """The spec's condition cannot be written faithfully in Python here (the message says why)."""


class Defaulted(Unreadable):
    """The call leaves the parameter at its default: the default is the spec's, nothing to read."""


_BUILTINS = {"min": min, "max": max, "abs": abs, "int": int, "round": round}  # (the spec's round is Python's)
_ARITH = ("+", "-", "*", "/", "//", "%")
_COMPARE = ("==", "!=", "<", "<=", ">", ">=")
# Python's binding strengths (higher binds tighter).
_PREC = {"if": 1, "or": 2, "and": 3, "not": 4, **{op: 5 for op in _COMPARE}, "+": 6, "-": 6,
         "*": 7, "/": 7, "//": 7, "%": 7, "neg": 8, "atom": 10}
_WORD = re.compile(r"[a-z][a-z_0-9]{0,15}")


def writable(value: Any) -> bool:
    if type(value) is tuple:  # a size (1, 7)
        return bool(value) and all(type(v) is int for v in value)
    if type(value) in (bool, int):
        return True
    if type(value) is float:
        return value == value and value not in (float("inf"), float("-inf"))
    return type(value) is str and bool(_WORD.fullmatch(value))


def python_name(name: str) -> str:
    """A block parameter's name in the generated class: the spec's, with `_` after a Python keyword
    (FractalNet's `global` is `global_`)."""
    return f"{name}_" if keyword.iskeyword(name) or keyword.issoftkeyword(name) else name


def _identifier(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name) and name.isascii()


# ---- where a part of a block comes from --------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """Where a span is in a block's body: the `if` conditions around it (condition, branch taken), the
    `let`s visible there (in order), and the residual whose own op it is (None: a statement of a body)."""

    conditions: tuple[tuple[ast.Expr, bool], ...]
    lets: tuple[ast.Let, ...]
    residual: ast.Residual | None
    call: ast.Call | None = None  # the call written at exactly that span, if it is one


def _inside(span: SourceSpan, outer: SourceSpan) -> bool:
    return span.file == outer.file and (outer.line, outer.column) <= (span.line, span.column) and \
        (span.end_line, span.end_column) <= (outer.end_line, outer.end_column)


def locate(definition: ast.BlockDef, span: SourceSpan) -> Place | None:
    """The place of `span` in `definition`'s body, or None when it is not in it.  A `for` around it is
    unreadable (the loop variable is no parameter of the class)."""
    found = _in_body(definition.body, span, (), ())
    return found


def _in_body(body: ast.Body, span: SourceSpan, conditions: tuple, lets: tuple) -> Place | None:
    if not _inside(span, body.span) and body.span.line > 0:
        return None
    for stmt in body.statements:
        if isinstance(stmt, ast.Let):
            lets = lets + (stmt,)
            continue
        if not _inside(span, stmt.span):
            continue
        return _in_statement(stmt, span, conditions, lets)
    return None


def _in_statement(stmt: Any, span: SourceSpan, conditions: tuple, lets: tuple) -> Place | None:
    if isinstance(stmt, ast.If):
        if _inside(span, stmt.then.span):
            return _in_body(stmt.then, span, conditions + ((stmt.cond, True),), lets)
        if stmt.otherwise is None:
            return None
        rest = conditions + ((stmt.cond, False),)
        if isinstance(stmt.otherwise, ast.If):
            return _in_statement(stmt.otherwise, span, rest, lets)
        return _in_body(stmt.otherwise, span, rest, lets)
    if isinstance(stmt, ast.For):
        raise Unreadable("it is inside a `for` loop of the block")
    if isinstance(stmt, ast.Chain):
        for element in stmt.elements:
            if _inside(span, element.span):
                return _in_element(element, span, conditions, lets)
        return None
    return Place(conditions, lets, None) if _inside(span, stmt.span) else None


def _in_element(element: Any, span: SourceSpan, conditions: tuple, lets: tuple) -> Place | None:
    if isinstance(element, ast.Labelled):
        return _in_element(element.item, span, conditions, lets) or Place(conditions, lets, None)
    if isinstance(element, ast.Residual):
        if span == element.span:
            return Place(conditions, lets, element)
        return _in_body(element.body, span, conditions, lets) or Place(conditions, lets, None)
    if isinstance(element, (ast.Group, ast.Merge)):
        return _in_body(element.body, span, conditions, lets) or Place(conditions, lets, None)
    return Place(conditions, lets, None, element if isinstance(element, ast.Call) and element.span == span else None)


# ---- translating expressions ----------------------------------------------------------------------------


class Reader:
    """Translates expressions of one block's body.  `params`: the block's parameters (their names are the
    class's); `fixed`: the values of parameters that cannot be written (folded in); `lets`: the `let`s
    visible; `functions`: the spec's `def`s by name."""

    def __init__(self, params: Sequence[str], fixed: dict[str, Any], lets: Iterable[ast.Let],
                 functions: dict[str, ast.FuncDef]):
        self.params = set(params)
        self.fixed = dict(fixed)
        self.lets: dict[str, ast.Expr] = {}
        for let in lets:
            self.lets[let.name] = let.value  # a later `let` of the same name shadows the earlier one
        self.functions = functions
        self.used_functions: set[str] = set()
        self._depth = 0

    def read(self, e: ast.Expr, scope: dict[str, Tree] | None = None) -> Tree:
        self._depth += 1
        if self._depth > 60:
            raise Unreadable("its expression nests too deeply")
        try:
            return _simplify(self._read(e, scope or {}))
        finally:
            self._depth -= 1

    def _read(self, e: Any, scope: dict[str, Tree]) -> Tree:
        if isinstance(e, ast.Number):
            return ("const", e.value)
        if isinstance(e, ast.String):
            if not _WORD.fullmatch(e.value):
                raise Unreadable(f"the string {e.value!r} is no option word")
            return ("const", e.value)
        if isinstance(e, ast.DimsLit):  # as the class's parameters hold a size: 3, or (1, 7)
            return ("const", e.values[0] if len(set(e.values)) == 1 else tuple(e.values))
        if isinstance(e, ast.Name):
            return self._name(e.name, scope)
        if isinstance(e, ast.Attr) and isinstance(e.target, ast.ValueRef) and e.target.name == "in" \
                and e.target.attr is None and e.name == "c":
            return ("var", "in_channels")
        if isinstance(e, ast.ValueRef) and e.name == "in" and e.attr == "c":
            return ("var", "in_channels")
        if isinstance(e, ast.BinOp):
            a, b = self.read(e.left, scope), self.read(e.right, scope)
            if e.op in ("and", "or"):
                return (e.op, a, b)
            if e.op in _ARITH or e.op in _COMPARE:
                return ("bin", e.op, a, b)
            raise Unreadable(f"the operator {e.op!r} is not translated")
        if isinstance(e, ast.UnaryOp):
            a = self.read(e.operand, scope)
            return ("not", a) if e.op == "not" else ("neg", a)
        if isinstance(e, ast.Conditional):
            return ("if", self.read(e.cond, scope), self.read(e.then, scope), self.read(e.otherwise, scope))
        if isinstance(e, ast.FuncCall):
            if e.keywords:
                raise Unreadable(f"{e.name}() is called with keywords")
            args = tuple(self.read(a, scope) for a in e.args)
            if e.name in scope or e.name in self.lets or e.name in self.params:
                raise Unreadable(f"{e.name} is not a function here")
            if e.name in self.functions:
                self._check_function(self.functions[e.name], len(args))
                self.used_functions.add(e.name)
                return ("fn", e.name, args)
            if e.name in _BUILTINS:
                return ("call", e.name, args)
            raise Unreadable(f"the function {e.name}() is not translated")
        raise Unreadable(f"a {type(e).__name__} expression is not translated")

    def _name(self, name: str, scope: dict[str, Tree]) -> Tree:
        if name in scope:
            return scope[name]
        if name in self.lets:
            value = self.lets.pop(name)  # (a let's value sees the lets before it, not itself)
            try:
                return self.read(value, scope)
            finally:
                self.lets[name] = value
        if name in self.params and python_name(name) in self.fixed:
            value = self.fixed[python_name(name)]
            if isinstance(value, list) or value is None:
                raise Unreadable(f"the parameter {name} holds {value!r}")
            return ("const", value)
        if name in self.params:
            return ("var", python_name(name))
        if name in ("true", "false"):
            return ("const", name == "true")
        if name in ("A", "B", "C", "none", "gated"):  # shortcut kinds, as a block call records them
            return ("const", name)
        raise Unreadable(f"the name {name!r} is not a parameter of the block")

    def _check_function(self, definition: ast.FuncDef, count: int) -> None:
        if not _identifier(definition.name):
            raise Unreadable(f"the function name {definition.name!r} cannot be written")
        required = sum(1 for p in definition.params if p.default is None)
        if not required <= count <= len(definition.params):
            raise Unreadable(f"{definition.name}() takes other arguments")

    def inner(self) -> "Reader":
        """A reader of the spec's functions' bodies: they see their own parameters and the other functions only."""
        reader = Reader((), {}, (), self.functions)
        reader.used_functions = self.used_functions  # (a function calling another needs that one written too)
        reader._depth = self._depth
        return reader

    def function(self, name: str, args: Sequence[Any]) -> Any:
        """The value of the spec function `name` at `args` (for checking a reading on the instances), as the
        Python function `function_source` writes computes it."""
        definition = self.functions[name]
        inner = self.inner()
        scope: dict[str, Tree] = {}
        for k, p in enumerate(definition.params):
            scope[p.name] = ("const", args[k] if k < len(args) else evaluate(inner.read(p.default, scope), {}, inner))
        for step in definition.steps:
            if isinstance(step, ast.Let):
                scope[step.name] = ("const", evaluate(inner.read(step.value, scope), {}, inner))
        return evaluate(inner.read(definition.result, scope), {}, inner)


def function_source(reader: Reader, name: str) -> str:
    """The spec function `name` as a Python function (its `require`s left out: the spec checked them).  A
    default that reads another parameter (`min_value=divisor`) is `None` in the signature, taken in the body."""
    definition = reader.functions[name]
    inner = reader.inner()
    params = [p.name for p in definition.params]
    if not all(_identifier(p) for p in params):
        raise Unreadable(f"a parameter name of {name}() cannot be written")
    scope = {p: ("var", p) for p in params}
    signature, late = [], []
    for p in definition.params:
        if p.default is None:
            signature.append(p.name)
            continue
        default = inner.read(p.default, scope)
        if default[0] == "const" and writable(default[1]):
            signature.append(f"{p.name}={_literal(default[1])}")
        else:
            signature.append(f"{p.name}=None")
            late.append(f"    if {p.name} is None:\n        {p.name} = {render(default)}")
    body = []
    for step in definition.steps:
        if isinstance(step, ast.Let):
            if not _identifier(step.name):
                raise Unreadable(f"the name {step.name!r} in {name}() cannot be written")
            body.append(f"    {step.name} = {render(inner.read(step.value, scope))}")
            scope[step.name] = ("var", step.name)
    result = render(inner.read(definition.result, scope))
    return "\n".join([f"def {name}({', '.join(signature)}):",
                      f'    """The spec\'s `{name}` (its `def`), as the spec computes it."""', *late, *body,
                      f"    return {result}"])


# ---- trees ------------------------------------------------------------------------------------------------


def _simplify(t: Tree) -> Tree:
    """Constant parts folded (`true and X` is X), so a folded parameter leaves no trace."""
    kind = t[0]
    if kind in ("and", "or"):
        a, b = t[1], t[2]
        for x, y in ((a, b), (b, a)):
            if x[0] == "const" and type(x[1]) is bool:
                if kind == "and":
                    return y if x[1] else ("const", False)
                return ("const", True) if x[1] else y
        return t
    if kind == "not" and t[1][0] == "const" and type(t[1][1]) is bool:
        return ("const", not t[1][1])
    if kind == "not" and t[1][0] == "not":
        return t[1][1]
    if kind == "if" and t[1][0] == "const" and type(t[1][1]) is bool:
        return t[2] if t[1][1] else t[3]
    if kind == "bin" and t[1] != "/" and t[2][0] == "const" and t[3][0] == "const":  # (`4 / 2` stays as written)
        try:
            return ("const", _binary(t[1], t[2][1], t[3][1]))
        except (TypeError, ZeroDivisionError, OverflowError):
            return t
    return t


def negate(t: Tree) -> Tree:
    """`not t`, with a comparison turned round (`stride != 1` rather than `not stride == 1`)."""
    flip = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">"}
    if t[0] == "bin" and t[1] in flip:
        return ("bin", flip[t[1]], t[2], t[3])
    if t[0] == "const" and type(t[1]) is bool:
        return ("const", not t[1])
    if t[0] == "not":
        return t[1]
    return ("not", t)


def _binary(op: str, a: Any, b: Any) -> Any:
    if op == "==":
        return a == b and (type(a) is type(b) or (_num(a) and _num(b)))
    if op == "!=":
        return not _binary("==", a, b)
    if not (_num(a) and _num(b)):
        raise TypeError(op)
    return {"<": lambda: a < b, "<=": lambda: a <= b, ">": lambda: a > b, ">=": lambda: a >= b,
            "+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b,
            "//": lambda: a // b, "%": lambda: a % b}[op]()


def _num(v: Any) -> bool:
    return type(v) in (int, float)


def evaluate(t: Tree, env: dict[str, Any], reader: Reader | None = None) -> Any:
    """The value of `t` with the class's parameters at `env`, as the generated Python computes it."""
    kind = t[0]
    if kind == "const":
        return t[1]
    if kind == "var":
        return env[t[1]]
    if kind == "bin":
        return _binary(t[1], evaluate(t[2], env, reader), evaluate(t[3], env, reader))
    if kind == "and":
        return evaluate(t[1], env, reader) and evaluate(t[2], env, reader)
    if kind == "or":
        return evaluate(t[1], env, reader) or evaluate(t[2], env, reader)
    if kind == "not":
        return not evaluate(t[1], env, reader)
    if kind == "neg":
        return -evaluate(t[1], env, reader)
    if kind == "if":
        return evaluate(t[2], env, reader) if evaluate(t[1], env, reader) else evaluate(t[3], env, reader)
    if kind == "call":
        return _BUILTINS[t[1]](*(evaluate(a, env, reader) for a in t[2]))
    if kind == "fn":
        if reader is None:
            raise Unreadable(f"{t[1]}() needs its definition")
        return reader.function(t[1], [evaluate(a, env, reader) for a in t[2]])
    raise AssertionError(kind)


def names_in(t: Tree) -> set[str]:
    """The class parameters `t` reads."""
    if t[0] == "var":
        return {t[1]}
    if t[0] == "const":
        return set()
    out: set[str] = set()
    for part in t[1:]:
        if isinstance(part, tuple) and part and isinstance(part[0], str):
            out |= names_in(part)
        elif isinstance(part, tuple):
            for p in part:
                out |= names_in(p)
    return out


def _literal(value: Any) -> str:
    if type(value) is str:
        return f'"{value}"'
    return repr(value)


def render(t: Tree, var: Callable[[str], str] = lambda n: n) -> str:
    """`t` as Python source; `var` writes a parameter (`self.stride` in a forward)."""
    return _render(t, var)[0]


def _render(t: Tree, var: Callable[[str], str]) -> tuple[str, int]:
    kind = t[0]
    if kind == "const":
        if not writable(t[1]):
            raise Unreadable(f"the value {t[1]!r} cannot be written")
        text = _literal(t[1])
        return text, (_PREC["neg"] if text.startswith("-") else _PREC["atom"])
    if kind == "var":
        return var(t[1]), _PREC["atom"]
    if kind == "bin":
        p = _PREC[t[1]]
        left = _wrap(_render(t[2], var), p if t[1] not in _COMPARE else p + 1)
        right = _wrap(_render(t[3], var), p + 1)
        return f"{left} {t[1]} {right}", p
    if kind in ("and", "or"):
        p = _PREC[kind]
        return f"{_wrap(_render(t[1], var), p)} {kind} {_wrap(_render(t[2], var), p + 1)}", p
    if kind == "not":
        return f"not {_wrap(_render(t[1], var), _PREC['not'])}", _PREC["not"]
    if kind == "neg":
        return f"-{_wrap(_render(t[1], var), _PREC['neg'])}", _PREC["neg"]
    if kind == "if":
        p = _PREC["if"]
        return (f"{_wrap(_render(t[2], var), p + 1)} if {_wrap(_render(t[1], var), p + 1)} "
                f"else {_wrap(_render(t[3], var), p)}"), p
    if kind in ("call", "fn"):
        return f"{t[1]}({', '.join(_render(a, var)[0] for a in t[2])})", _PREC["atom"]
    raise AssertionError(kind)


def _wrap(rendered: tuple[str, int], at_least: int) -> str:
    text, p = rendered
    return text if p >= at_least else f"({text})"


# ---- a part's presence --------------------------------------------------------------------------------


def fixed_values(definition: ast.BlockDef, columns: dict[str, tuple], keep: Iterable[str]) -> dict[str, Any]:
    """The parameters a reading folds to their value: those every instance gives one value, unless the class
    takes them anyway (`keep`).  A condition on such a parameter could only pick parts no instance has
    (EfficientNet-B0's `fused`, false throughout), so the class is written for that value, as its docstring
    says ("As built here")."""
    keep = set(keep)
    names = [python_name(p.name) for p in definition.params]
    return {n: columns[n][0] for n in names
            if n in columns and n not in keep and len({(type(v), repr(v)) for v in columns[n]}) == 1}


def presence(definition: ast.BlockDef, functions: Sequence[ast.FuncDef], span: SourceSpan, op: str,
             columns: dict[str, tuple], truth: Sequence[bool], fixed: dict[str, Any],
             changes: Tree | None = None) -> tuple[Tree, Reader]:
    """The condition under which the part made at `span` (by an op of class `op`, or a call: "unit") is
    there, read from `definition`, checked against every instance (`columns`: each parameter's value per
    instance, `truth`: whether the part is there; `fixed`: parameters folded to their value); `Unreadable`
    says why not.  `changes`: where the residual's body changes the shape (its stride and width against the
    block's input), which an option-A shortcut pads where its kind is `A`: the residual's own rule."""
    place = locate(definition, span)
    if place is None:
        raise Unreadable("it is not made by the block's own body")
    params = [p.name for p in definition.params]
    reader = Reader(params, fixed, place.lets, {f.name: f for f in functions})
    parts = [reader.read(c) if taken else negate(reader.read(c)) for c, taken in place.conditions]
    if place.residual is not None:
        kind = next((a.value for a in place.residual.args if a.name == "shortcut"), None)
        if kind is None:
            kind = next((a.value for a in place.residual.args if a.name is None), None)
        kind_tree = ("const", "B") if kind is None else reader.read(kind)
        if op == "Add":
            parts.append(compare(kind_tree, "!=", "none"))  # `shortcut=none` makes no add
        elif op == "ZeroPadShortcut" and changes is not None:
            parts += [compare(kind_tree, "==", "A"), changes]
        else:
            raise Unreadable(f"the residual makes its {op} by its own rule, not under a condition of the spec")
    parts = [p for p in parts if p != ("const", True)]  # (`shortcut=B` always adds; a folded `not fused`)
    if not parts:
        raise Unreadable("the spec writes it without a condition (it is absent for another reason)")
    tree = parts[0]
    for p in parts[1:]:
        tree = _simplify(("and", tree, p))
    if tree[0] == "const":
        raise Unreadable("its condition holds or fails for every member the class is written for")
    check(tree, columns, truth, reader)
    return tree, reader


def compare(t: Tree, op: str, value: Any) -> Tree:
    """`t op value`, taken into the branches of a conditional (`(B if C else none) != none` is C)."""
    if t[0] == "if":
        then, otherwise = compare(t[2], op, value), compare(t[3], op, value)
        return _simplify(("or", _simplify(("and", t[1], then)), _simplify(("and", negate(t[1]), otherwise))))
    return _simplify(("bin", op, t, ("const", value)))


def check(tree: Tree, columns: dict[str, tuple], truth: Sequence[bool], reader: Reader) -> None:
    """`tree` is true exactly where `truth` says, in every instance; its parameters can be written."""
    for name in names_in(tree):
        if name not in columns:
            raise Unreadable(f"{name} is no parameter of the class")
        if not all(writable(v) for v in columns[name]):
            raise Unreadable(f"the parameter {name} takes values that cannot be written")
    render(tree)  # every literal writable
    for j, want in enumerate(truth):
        try:
            got = evaluate(tree, {n: c[j] for n, c in columns.items()}, reader)
        except (TypeError, ZeroDivisionError, OverflowError, ValueError, KeyError) as err:
            raise Unreadable(f"it cannot be evaluated for instance {j} ({err})") from None
        if type(got) is not bool or got != bool(want):
            raise Unreadable(f"{render(tree)} gives {got!r} where instance {j} says {bool(want)}")


def from_python(text: str) -> Tree:
    """A slot's fitted expression (`width`, `width * expansion`, `(kernel - 1) // 2`, `16`) as a tree: names,
    whole numbers, + - * // and parentheses only."""
    import ast as python

    def tree(node: Any) -> Tree:
        if isinstance(node, python.Constant) and type(node.value) is int:
            return ("const", node.value)
        if isinstance(node, python.Name) and _identifier(node.id):
            return ("var", node.id)
        if isinstance(node, python.BinOp):
            ops = {python.Add: "+", python.Sub: "-", python.Mult: "*", python.FloorDiv: "//"}
            op = ops.get(type(node.op))
            if op is not None:
                return ("bin", op, tree(node.left), tree(node.right))
        raise Unreadable(f"the expression {text!r} is not read back")

    try:
        parsed = python.parse(text, mode="eval")
    except SyntaxError:
        raise Unreadable(f"the expression {text!r} is not read back") from None
    return tree(parsed.body)


def argument(definition: ast.BlockDef, functions: Sequence[ast.FuncDef], span: SourceSpan,
             child: ast.BlockDef, param: str, columns: dict[str, tuple], values: Sequence[Any],
             fixed: dict[str, Any]) -> tuple[Tree, Reader]:
    """The expression the call at `span` in `definition`'s body writes for `child`'s parameter `param`
    (`squeeze_excite(make_divisible(expanded // 4), ...)`, its `let`s inlined), checked to give `values[j]` in instance j (`columns` per instance, as for `presence`)."""
    place = locate(definition, span)
    if place is None or place.call is None:
        raise Unreadable("the call is not in the block's own body")
    call = place.call
    if child is None:  # a primitive of one argument (`scale scale`): that argument is the op's one number
        if len(call.args) != 1:
            raise Unreadable(f"the primitive {call.name} takes {len(call.args)} arguments here")
        given = {param: call.args[0].value}
    else:
        names = [p.name for p in child.params]
        positional = [a for a in call.args if a.name is None]
        given = {python_name(names[k]): a.value for k, a in enumerate(positional) if k < len(names)}
        given.update({python_name(a.name): a.value for a in call.args if a.name is not None})
    if param not in given:
        raise Defaulted(f"the call leaves {param} at its default")
    reader = Reader([p.name for p in definition.params], fixed, place.lets, {f.name: f for f in functions})
    tree = reader.read(given[param])
    for name in names_in(tree):
        if name not in columns or not all(writable(v) for v in columns[name]):
            raise Unreadable(f"{name} is no parameter the class can take")
    render(tree)
    for j, want in enumerate(values):
        try:
            got = evaluate(tree, {n: c[j] for n, c in columns.items()}, reader)
        except (TypeError, ZeroDivisionError, OverflowError, ValueError, KeyError) as err:
            raise Unreadable(f"it cannot be evaluated for instance {j} ({err})") from None
        if type(got) is not type(want) or got != want:
            raise Unreadable(f"{render(tree)} gives {got!r} where instance {j} has {want!r}")
    return tree, reader
