"""Writing the instances of one block definition as one class (the code generator's family step).

The IR keeps, for every block instance, the call that made it (`BlockCall`: the block's name and its bound
arguments).  The generator renders each instance's constructor with its literals as slots; here the
instances of one definition are unified:

  * `fit()` writes each slot as an expression of the class's parameters — the block's own parameters
    (named as in the spec) and `in_channels` (the width coming in, as torchvision's `inplanes`) — when one
    expression gives the slot's value in every instance (`width * expansion`, `in_channels + i * growth`);
  * `align()` reads each instance's forward as the fullest one with some statements left out or replaced
    (an optional member's `x = self.downsample(x)`, an activation, a residual add), checked value by
    value, and `condition()` finds the expression of the block's parameters that holds exactly where a
    part is there (`self.downsample is not None`, `act == "relu"`, `expanded != in_channels`).

Both only accept what they verify on the instances at hand; what they cannot express is left to the
caller (a slot becomes a parameter named after its layer, or the instances keep one class per shape).
Nothing here imports torch.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

__all__ = ["fit", "CHANNEL_FIELDS", "align", "Step", "group_lines", "condition",
           "target_and_source"]

# Constructor arguments that are widths: the ones a block's width parameters can explain.
CHANNEL_FIELDS = frozenset({"in_channels", "out_channels", "num_features", "in_features", "out_features",
                            "num_channels", "normalized_shape", "num_parameters", "channels", "groups",
                            "num_groups", "start", "stop"})
_INPUT_FIELDS = frozenset({"in_channels", "in_features"})
_NOT_WIDTHS = re.compile(r"stride|kernel|dilation|padding")

Column = tuple[Any, ...]


def _ints(values: Sequence[Any]) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) for v in values)


def fit(values: Column, field: str, bases: Sequence[tuple[str, Column]], width: bool = False) -> str | None:
    """An expression of the bases' names whose value is `values[j]` in instance j, or None.

    A slot named like a parameter (`stride`, `groups`) is that parameter when the values agree.  Widths
    are tried as one base, a product of two, a base times or divided by a whole number, and (for widths
    that vary) a base plus a constant; the first that matches every instance wins, so the order of
    `bases` is the order of preference."""
    for name, column in bases:
        if name == field and column == values:
            return name
    if field == "count":  # how many times a loop runs: a whole-number parameter of the block (`repeats - 1`)
        counts = [(n, c) for n, c in bases if n != "in_channels" and _ints(c)]
        exact = next((n for n, c in counts if c == values), None)
        if exact is not None or not _ints(values) or len(set(values)) < 2:
            return exact
        for n, c in counts:
            d = c[0] - values[0]
            if 0 < d <= 2 and all(x - v == d for x, v in zip(c, values)):
                return f"{n} - {d}"
        return None
    if field == "padding" and _ints(values):  # `same` padding of an odd kernel
        for name, column in bases:
            if _ints(column) and len(set(column)) > 1 and all(c % 2 == 1 and (c - 1) // 2 == v
                                                              for c, v in zip(column, values)):
                return f"({name} - 1) // 2"
    if field not in CHANNEL_FIELDS and not width:
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
    sizes = [(n, c) for n, c in ints if not _NOT_WIDTHS.search(n)]  # a stride or kernel is no factor of a width
    for i, (a, ca) in enumerate(sizes):
        for b, cb in sizes[i + 1:]:
            if all(x * y == v for x, y, v in zip(ca, cb, values)):
                return f"{a} * {b}"
    for a, ca in sizes:  # a width in groups of another (RegNet's `width // group_width`)
        for b, cb in sizes:
            if a != b and 0 not in cb and len(set(cb)) == 1 and cb[0] > 1 and \
                    all(x % y == 0 and x // y == v for x, y, v in zip(ca, cb, values)):
                return f"{a} // {b}"
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


# ---- forwards: one class's forward covering every instance's ------------------------------------------

_MARK = re.compile("\x00\\d+\x00")
_ASSIGN = re.compile(r"^(\w+(?:, \w+)*) (\+=|=) (.*)$", re.S)


def group_lines(lines: Sequence[str]) -> list[str]:
    """A forward's statements: an indented line belongs to the one before (a loop's body)."""
    out: list[str] = []
    for line in lines:
        if line.startswith(" ") and out:
            out[-1] += "\n" + line
        else:
            out.append(line)
    return out


def _locals_in(text: str, env: dict[str, Any]) -> list[str]:
    return [m.group(1) for m in re.finditer(r"(?<![\w.\"'])([A-Za-z_]\w*)(?![\w\"'])", text) if m.group(1) in env]


def _replace(text: str, env: dict[str, Any], fn) -> str:
    return re.sub(r"(?<![\w.\"'])([A-Za-z_]\w*)(?![\w\"'])",
                  lambda m: fn(m.group(1)) if m.group(1) in env else m.group(1), text)


@dataclass(frozen=True)
class _Stmt:
    text: str
    targets: tuple[str, ...]   # the names it binds
    augmented: bool            # `T += U`
    expr: str                  # the right-hand side ('' for other statements)


def _parse(text: str) -> _Stmt:
    if "\n" not in text:
        m = _ASSIGN.match(text)
        if m:
            return _Stmt(text, tuple(m.group(1).split(", ")), m.group(2) == "+=", m.group(3))
        return _Stmt(text, (), False, "")
    body_targets = tuple(dict.fromkeys(t for line in text.split("\n")[1:]
                                       for t in (_ASSIGN.match(line.strip()) or [None, ""])[1].split(", ") if t))
    return _Stmt(text, body_targets, False, "")


def _key(stmt: _Stmt, env: dict[str, Any]) -> tuple[Any, ...]:
    """What a statement computes, with its names replaced by the values they hold and literals by `#`:
    equal keys in two instances mean the same step.  `T += U` and `T = T + U` (either order) are one key,
    with `augmented` telling them apart."""
    ident = lambda n: f"\x03{env[n]}\x03"  # noqa: E731
    if stmt.augmented:
        return ("add", tuple(sorted((repr(env[stmt.targets[0]]), *(repr(env[n]) for n in _locals_in(stmt.expr, env))))),
                len(stmt.targets)) if re.fullmatch(r"\w+", stmt.expr) and stmt.expr in env else ("aug", stmt.text)
    if stmt.expr:
        m = re.fullmatch(r"(\w+) \+ (\w+)", stmt.expr)
        if m and m.group(1) in env and m.group(2) in env:
            return ("add", tuple(sorted((repr(env[m.group(1)]), repr(env[m.group(2)])))), len(stmt.targets))
        return ("expr", _MARK.sub("#", _replace(stmt.expr, env, ident)), len(stmt.targets))
    return ("stmt", _MARK.sub("#", _replace(stmt.text, env, ident)))


def _first_read(stmt: _Stmt, env: dict[str, Any]) -> str | None:
    if stmt.augmented:
        return stmt.targets[0]
    reads = _locals_in(stmt.expr, env)
    return reads[0] if reads else None


@dataclass(frozen=True)
class Step:
    """How one statement of the full forward appears in one instance: `match` (statement `other` there),
    `drop` (absent: its name keeps the value it reads first), `alt` (another statement in its place:
    `text`, in the full forward's names)."""

    kind: str
    other: int = -1
    text: str = ""
    relax: bool = False  # the full forward's `T += U` is `T = T + U` in this instance


def align(full: Sequence[str], full_params: Sequence[str], other: Sequence[str], other_params: Sequence[str],
          budget: int = 400) -> list[Step] | None:
    """The statements of `other` (grouped) as the statements of `full` with some left out or replaced,
    verified value by value; None when no such reading exists."""
    a = [_parse(t) for t in full]
    b = [_parse(t) for t in other]
    if len(full_params) != len(other_params):
        return None
    counter = [0]
    tries = [budget]

    def fresh() -> int:
        counter[0] += 1
        return counter[0]

    def walk(i: int, j: int, ea: dict[str, Any], eb: dict[str, Any]) -> list[Step] | None:
        tries[0] -= 1
        if tries[0] < 0:
            return None
        if i == len(a):
            return [] if j == len(b) else None
        s = a[i]
        if j < len(b):
            t = b[j]
            try:
                ka, kb = _key(s, ea), _key(t, eb)
            except KeyError:
                ka, kb = None, None
            if ka is not None and ka == kb and len(s.targets) == len(t.targets):
                na, nb = dict(ea), dict(eb)
                for x, y in zip(s.targets, t.targets):
                    v = fresh()
                    na[x], nb[y] = v, v
                rest = walk(i + 1, j + 1, na, nb)
                if rest is not None:
                    return [Step("match", j, relax=s.augmented and not t.augmented)] + rest
        source = _first_read(s, ea)
        if "\n" in s.text and s.text.startswith("for i in range(") and len(s.targets) == 1 and s.targets[0] in ea:
            source = s.targets[0]  # a loop over numbered blocks, rebinding its value: it may run no times
        if len(s.targets) == 1 and source is not None and ("\n" not in s.text or source == s.targets[0]):
            na = dict(ea)
            na[s.targets[0]] = ea[source]
            rest = walk(i + 1, j, na, eb)
            if rest is not None:
                return [Step("drop")] + rest
        if j < len(b):
            t = b[j]
            tsource = _first_read(t, eb)
            if (len(s.targets) == 1 and len(t.targets) == 1 and not s.augmented and not t.augmented
                    and "\n" not in s.text + t.text and source is not None and tsource is not None
                    and ea[source] == eb[tsource]):
                names = {v: n for n, v in ea.items()}
                if all(eb[n] in names for n in _locals_in(t.expr, eb)):
                    text = f"{s.targets[0]} = " + _replace(t.expr, eb, lambda n: names[eb[n]])
                    na, nb = dict(ea), dict(eb)
                    v = fresh()
                    na[s.targets[0]], nb[t.targets[0]] = v, v
                    rest = walk(i + 1, j + 1, na, nb)
                    if rest is not None:
                        return [Step("alt", j, text)] + rest
        return None

    start = {p: ("in", k) for k, p in enumerate(full_params)}
    return walk(0, 0, dict(start), {p: ("in", k) for k, p in enumerate(other_params)})


def target_and_source(text: str, params: Sequence[str], before: Sequence[str]) -> tuple[str, str] | None:
    """The name a statement binds and the one it reads first (what the name holds when it is left out)."""
    stmt = _parse(text)
    env: dict[str, Any] = {p: 0 for p in params}
    for line in before:
        for t in _parse(line).targets:
            env[t] = 0
    source = _first_read(stmt, env)
    return (stmt.targets[0], source) if len(stmt.targets) == 1 and source else None


# ---- conditions: when a part is there, as an expression of the block's parameters -------------------------


def condition(truth: Sequence[bool], bases: Sequence[tuple[str, tuple]], members: Sequence[tuple[str, tuple]] = (),
              prefer_members: bool = False) -> tuple[str, set[str]] | None:
    """An expression true exactly in the instances where `truth` holds: a member's presence
    (`self.downsample is not None`), a parameter (`se`, `act == 'relu'`, `stride == 1`, `expanded != in_channels`)
    or two of those joined by `and`.  Also the parameters it reads."""
    want = tuple(bool(t) for t in truth)
    presence = [(f"self.{m} is not None", set(), tuple(bool(v) for v in col)) for m, col in members]
    atoms: list[tuple[str, set[str], tuple[bool, ...]]] = []
    pairs: list[tuple[str, set[str], tuple[bool, ...]]] = []
    for name, column in bases:
        if all(type(v) is bool for v in column):
            atoms.append((name, {name}, tuple(column)))
            atoms.append((f"not {name}", {name}, tuple(not v for v in column)))
        elif all(isinstance(v, str) for v in column):
            for value in dict.fromkeys(column):
                if _literal_ok(value):
                    atoms.append((f'{name} == "{value}"', {name}, tuple(v == value for v in column)))
    ints = [(n, c) for n, c in bases if all(type(v) is int for v in c)]
    ints.sort(key=lambda b: b[0] != "in_channels")  # a width compared with the one coming in first
    later: list[tuple[str, set[str], tuple[bool, ...]]] = []  # two other parameters: compared last
    for k, (n, c) in enumerate(ints):
        for m, d in ints[k + 1:]:
            a, b = (m, n) if n == "in_channels" else (n, m)
            into = pairs if n == "in_channels" else later
            into.append((f"{a} == {b}", {n, m}, tuple(x == y for x, y in zip(c, d))))
            into.append((f"{a} != {b}", {n, m}, tuple(x != y for x, y in zip(c, d))))
    for n, c in sorted(ints, key=lambda b: len(set(b[1]))):  # a parameter with few values (`t`, `stride`) first
        if n == "in_channels":
            continue
        for value in sorted(set(c)):
            pairs.append((f"{n} == {value}", {n}, tuple(v == value for v in c)))
            pairs.append((f"{n} != {value}", {n}, tuple(v != value for v in c)))
    pairs += later
    singles = (presence + atoms + pairs) if prefer_members else (atoms + pairs + presence)
    for text, used, column in singles:
        if column == want:
            return text, used
    parts = atoms + pairs
    for k, (t1, u1, c1) in enumerate(parts):
        if not all(w <= x for w, x in zip(want, c1)):  # a conjunct must hold wherever the whole does
            continue
        for t2, u2, c2 in parts[k + 1:]:
            if tuple(x and y for x, y in zip(c1, c2)) == want:
                return f"{t1} and {t2}", u1 | u2
    return None


def _literal_ok(value: str) -> bool:
    return bool(re.fullmatch(r"[a-z][a-z_0-9]{0,15}", value))
