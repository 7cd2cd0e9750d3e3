"""Text -> AST (callers go through `resdsl.syntax.cache`, which parses each file once).  Lark's errors become `SpecSyntaxError`s that name the file, line, column and what
was expected, in the words of the language rather than of the grammar."""
from __future__ import annotations

import math
import re
from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from resdsl import limits
from resdsl.diagnostics import LimitError, ResdslError, SourceSpan, SpecSyntaxError, source_lines
from resdsl.syntax import ast

GRAMMAR = Path(__file__).with_name("resdsl.lark")

_SUFFIX = {"K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
           "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}

# How each terminal is spoken of in an error message.
_TERMINAL_WORDS = {
    "NAME": "a name", "NUMBER": "a number", "DIMS": "a size like 3x3", "STRING": 'a "string"',
    "REPEAT": "a repeat count like x3", "XPAREN": "x(", "PATNAME": "a name", "_NL": "a new line",
    "LBRACE": "'{'", "RBRACE": "'}'", "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'",
    "REF": "a tensor like @conv1", "COMMA": "','", "COLON": "':'", "EQUAL": "'='", "SLASH": "'/'", "AT": "'@'", "MINUS": "'-'",
    "PLUS": "'+'", "STAR": "'*'", "DOT": "'.'", "BUDGET_OP": "'<='", "COMPARE": "a comparison",
    "$END": "the end of the file",
}


@lru_cache(maxsize=1)
def _lark() -> Lark:
    # lark's own cache=True would pickle the compiled grammar into the shared temp dir and unpickle
    # whatever file of that name it finds there; ours is a directory only we can write.
    from resdsl.syntax.cache import grammar_cache_file

    return Lark.open(str(GRAMMAR), parser="lalr", propagate_positions=True, maybe_placeholders=True,
                     start=["start", "expr"], cache=grammar_cache_file() or False)


def parse(text: str, file: str = "<string>") -> ast.Module:
    """Parse the text of one .res file.  Raises `SpecSyntaxError` with a location on bad input."""
    return _parse(normalise_source(text, file), file, "start")


def parse_expression(text: str, file: str = "<--set>") -> ast.Expr:
    """Parse one expression (a `--set` value, say) with the same rules as in a spec."""
    return _parse(text, file, "expr")


def _parse(text: str, file: str, start: str):
    check_brackets(text, file)
    try:
        tree = _lark().parse(text, start=start)
    except UnexpectedInput as err:
        raise _syntax_error(err, text, file) from None
    check_nesting(tree, file)
    try:
        return _ToAst(file).transform(tree)
    except VisitError as err:
        if isinstance(err.orig_exc, ResdslError):
            raise err.orig_exc from None
        raise


def check_brackets(text: str, file: str) -> None:
    """Refuse brackets nested deeper than `limits.MAX_NESTING` before parsing: parentheses leave no trace
    in the tree, but each level costs the parser a dozen reductions (3,000 of them took seconds)."""
    depth = 0
    for match in _BRACKETS.finditer(text):
        char = match.group()
        if char in "([{":
            depth += 1
            if depth > limits.MAX_NESTING:
                line = text.count("\n", 0, match.start()) + 1
                column = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
                raise LimitError(f"brackets nest more than {limits.MAX_NESTING} deep here; that is resdsl's limit",
                                 SourceSpan(file, line, column, line, column + 1),
                                 "split deep structures into blocks and long expressions with `let`")
        elif char in ")]}":
            depth = max(0, depth - 1)


_BRACKETS = re.compile(r'"[^"\n]*"|#[^\n]*|[()\[\]{}]')


def check_nesting(tree: Tree, file: str) -> None:
    """Refuse a tree deeper than `limits.MAX_NESTING` before anything walks it recursively (the
    AST builder, the evaluator and every pass over the AST recurse; the LALR parser itself does not)."""
    stack = [(tree, 1, "")]
    while stack:
        node, depth, parent = stack.pop()
        if depth > limits.MAX_NESTING:
            span = _span(file, node.meta)
            operator = node.data in _OPERATORS or parent in _OPERATORS
            raise LimitError(
                f"the spec nests more than {limits.MAX_NESTING} levels deep here; that is resdsl's limit",
                span, ("each operator of a chain like 1 + 1 + ... is a level: split it with `let`"
                       if operator else
                       "every brace, bracket, call and operator inside another is a level: split deep "
                       "structures into blocks and long expressions with `let`"))
        stack.extend((child, depth + 1, node.data) for child in node.children if isinstance(child, Tree))


_OPERATORS = {"add", "sub", "mul", "div", "floordiv", "mod", "and_", "or_", "compare", "neg", "not_",
              "conditional", "index", "attr"}


def normalise_source(text: str, file: str) -> str:
    """Accept a BOM and CRLF or CR line ends; refuse binary data and empty files with a clear message."""
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    bad = _CONTROL.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        column = bad.start() - (text.rfind("\n", 0, bad.start()) + 1) + 1
        raise SpecSyntaxError(f"this is not a text spec: it contains the control character U+{ord(bad.group()):04X}",
                              SourceSpan(file, line, column, line, column + 1),
                              "pass a .res text file (UTF-8); is this a checkpoint or an image?")
    if not text.strip() or all(not line.strip() or line.lstrip().startswith("#") for line in text.split("\n")):
        raise SpecSyntaxError("the file is empty: there is no network or block in it",
                              SourceSpan(file, 1, 1, 1, 1),
                              "start with `network NAME { input 3x224x224 ... }`; see docs/language.md")
    return text


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")  # tab, LF and form feed are layout; CR is gone


def _syntax_error(err: UnexpectedInput, text: str, file: str) -> SpecSyntaxError:
    line, column = getattr(err, "line", 1) or 1, getattr(err, "column", 1) or 1
    if isinstance(err, UnexpectedCharacters):
        char = text[err.pos_in_stream] if err.pos_in_stream < len(text) else "?"
        expected = _describe(err.allowed or ())
        return SpecSyntaxError(f"unexpected character {char!r}" + (f"; expected {expected}" if expected else ""),
                               SourceSpan(file, line, column, line, column + 1), _hint_for_char(char))
    if isinstance(err, UnexpectedEOF) or (isinstance(err, UnexpectedToken) and err.token.type == "$END"):
        lines = source_lines(text.rstrip())
        line = max(1, len(lines))
        column = len(lines[-1]) + 1 if lines else 1
        expected = _describe(getattr(err, "expected", ()) or ())
        return SpecSyntaxError("the file ends too early" + (f"; expected {expected}" if expected else ""),
                               SourceSpan(file, line, column, line, column + 1),
                               "is a closing '}' missing?")
    assert isinstance(err, UnexpectedToken)
    token = err.token
    shown = "a new line" if token.type == "_NL" else repr(str(token))
    end_col = (token.end_column or column + 1) if token.type != "_NL" else column + 1
    return SpecSyntaxError(f"unexpected {shown}; expected {_describe(err.expected)}",
                           SourceSpan(file, line, column, line, max(end_col, column + 1)),
                           _hint_for_token(token, err.expected))


def _describe(expected) -> str:
    words = sorted({_TERMINAL_WORDS.get(t, _keyword(t)) for t in expected if not t.startswith("__")})
    if len(words) > 8:
        words = words[:8] + ["..."]
    return ", ".join(words) if words else "something else"


def _keyword(terminal: str) -> str:
    return f"'{terminal.lower()}'" if terminal.isupper() else terminal


def _hint_for_char(char: str) -> str | None:
    if char == "'":
        return 'strings use double quotes: "like this"'
    if char in "×":
        return "write sizes as 3x3"
    if char == ":":
        return "a label goes before an item: `conv1: conv 3x3 64`"
    if not char.isascii() and (char.isalnum() or char == "_"):
        return (f"names are ASCII letters, digits and _; a label may be quoted to hold other letters, "
                f"as in \"{char}1\": conv 3x3 64")
    return None


def _hint_for_token(token: Token, expected) -> str | None:
    if token.type == "_NL" and "RBRACE" in expected:
        return "is a closing '}' missing?"
    if token.type == "LBRACE" and "_NL" in expected:
        return "put each item on its own line, or separate items with ','"
    if token.type == "LPAR":
        return "computed arguments use the call form: `conv(3x3, 2 * width)`, or name them with `let`"
    if set(expected) == {"COLON"}:
        return "stage rows look like `layer1: 64 x3 /2`; is the '}' that closes the stages missing above?"
    if token.type == "NUMBER" and "COLON" in expected:
        return "stage rows look like `layer1: 64 x3 /2`"
    if token.type == "COLON":
        return "a label names the item after it: `conv1: conv 3x3 64`; labels cannot be nested"
    if token.type == "EQUAL":
        return "compare with '=='; '=' gives a keyword argument or a parameter default"
    return None


def _span(file: str, meta) -> SourceSpan:
    if getattr(meta, "empty", True):
        return SourceSpan(file, 0, 0, 0, 0)
    return SourceSpan(file, meta.line, meta.column, meta.end_line, meta.end_column)


def _tok_span(file: str, tok: Token) -> SourceSpan:
    return SourceSpan(file, tok.line, tok.column, tok.end_line or tok.line,
                      tok.end_column or tok.column + len(tok))


def _as_arg(node) -> ast.Arg:
    """Space-separated arguments arrive as bare expressions; make them positional `Arg`s."""
    return node if isinstance(node, ast.Arg) else ast.Arg(node.span, None, node)


def parse_number(text: str) -> int | float:
    """`64` -> 64, `0.5` -> 0.5, `11.6G` -> 11600000000, `2GiB` -> 2147483648 (a trailing B is a unit).

    Raises ValueError (with the reason) for a number resdsl will not hold: more than
    `limits.MAX_INT_DIGITS` digits, or a decimal that overflows or underflows to zero."""
    body = text[:-1] if text.endswith("B") else text
    scale = 1
    for suffix in ("Ki", "Mi", "Gi", "Ti", "K", "M", "G", "T"):
        if body.endswith(suffix):
            scale, body = _SUFFIX[suffix], body[: -len(suffix)]
            break
    mantissa, _, exponent = body.lower().partition("e")
    if len(mantissa) > limits.MAX_INT_DIGITS + 1:
        raise ValueError(f"this number is written with more than {limits.MAX_INT_DIGITS} digits")
    if len(exponent.lstrip("+-0")) > 4:  # float() of 1e9999999 is inf, of 1e-9999999 is 0.0
        raise ValueError("this number is too " + ("small (it underflows to 0)" if exponent.startswith("-")
                                                   else "large (it overflows)"))
    if not any(c in body for c in ".eE"):
        value: int | float = int(body) * scale
        if value >= 10 ** limits.MAX_INT_DIGITS:
            raise ValueError(f"this whole number has more than {limits.MAX_INT_DIGITS} digits")
        return value
    value = float(body) * scale
    if not math.isfinite(value):
        raise ValueError("this number is too large (it overflows)")
    if value == 0 and mantissa.strip("0."):
        raise ValueError("this number is too small (it underflows to 0)")
    if value.is_integer() and scale != 1:
        return int(round(value))
    return value


def _number(text: str, span: SourceSpan) -> int | float:
    try:
        return parse_number(text)
    except ValueError as err:
        raise LimitError(f"{err}: resdsl's numbers are whole numbers of at most {limits.MAX_INT_DIGITS} "
                         "digits or finite decimals", span) from None


def _whole_token(text: str, span: SourceSpan) -> int:
    """The digits of a size (`3x3`) or a repeat count (`x3`)."""
    if len(text) > limits.MAX_INT_DIGITS:
        raise LimitError(f"this number has more than {limits.MAX_INT_DIGITS} digits; that is resdsl's limit", span)
    return int(text)


@v_args(meta=True)
class _ToAst(Transformer):
    """Builds frozen AST nodes; a rule without a method here is a bug, not a silent pass-through."""

    def __init__(self, file: str):
        super().__init__()
        self.file = file

    def __default__(self, data, children, meta):
        raise AssertionError(f"grammar rule {data!r} has no AST builder")

    def _s(self, meta) -> SourceSpan:
        return _span(self.file, meta)

    # top level
    def start(self, meta, children):
        defs = tuple(c for c in children if c is not None)
        return ast.Module(self._s(meta), self.file, defs)

    def import_stmt(self, meta, children):
        return ast.Import(self._s(meta), children[0].value[1:-1])

    def block_def(self, meta, children, inline=False):
        name, params, body = children
        return ast.BlockDef(self._s(meta), str(name), params or (), body, inline)

    def group_def(self, meta, children):
        return self.block_def(meta, children, inline=True)

    def func_def(self, meta, children):
        name, params, result = children
        return ast.FuncDef(self._s(meta), str(name), params or (), (), result)

    def func_def_body(self, meta, children):
        name, params, (steps, result) = children
        return ast.FuncDef(self._s(meta), str(name), params or (), steps, result)

    def func_body(self, meta, children):
        *steps, result = (c for c in children if c is not None)
        return (tuple(steps), result)

    def network_def(self, meta, children):
        name, params, body = children
        return ast.NetworkDef(self._s(meta), str(name), params or (), body)

    def network_alias(self, meta, children):
        name, target, args = children
        return ast.NetworkAlias(self._s(meta), str(name),
                                ast.Call(self._s(meta), str(target), args, _tok_span(self.file, target)))

    def param_list(self, meta, children):
        return tuple(c for c in children if c is not None)

    def param(self, meta, children):
        return ast.Param(self._s(meta), str(children[0]), children[1])

    def body(self, meta, children):
        return ast.Body(self._s(meta), tuple(c for c in children if c is not None))

    # items
    def chain(self, meta, children):
        return ast.Chain(self._s(meta), tuple(children))

    def labelled(self, meta, children):
        return ast.Labelled(self._s(meta), children[0], children[1])

    def label(self, meta, children):
        tok = children[0]
        text = str(tok)
        if tok.type == "STRING":
            text = text[1:-1]
            if not text:
                raise SpecSyntaxError("a quoted label cannot be empty", _tok_span(self.file, tok),
                                      'write a name inside the quotes: "block1-0": ...')
        return ast.Label(_tok_span(self.file, tok), text, tok.type == "STRING")

    def call(self, meta, children):
        name, args = children
        return ast.Call(self._s(meta), str(name), args, _tok_span(self.file, name))

    def call_args(self, meta, children):
        args: list[ast.Arg] = []
        for c in children:
            if c is None:
                continue
            args.extend(_as_arg(a) for a in (c if isinstance(c, tuple) else (c,)))
        return tuple(args)

    def paren_args(self, meta, children):
        return tuple(c for c in children if c is not None)

    def positional(self, meta, children):
        value = children[0]
        return ast.Arg(value.span, None, value)

    def keyword(self, meta, children):
        return ast.Arg(self._s(meta), str(children[0]), children[1])

    def stride_arg(self, meta, children):
        return ast.Arg(self._s(meta), "stride", children[0])

    def group(self, meta, children):
        return ast.Group(self._s(meta), children[0])

    def _merge(self, kind, meta, children):
        return ast.Merge(self._s(meta), kind, children[0])

    def add_merge(self, meta, children):
        return self._merge("add", meta, children)

    def concat_merge(self, meta, children):
        return self._merge("concat", meta, children)

    def mul_merge(self, meta, children):
        return self._merge("mul", meta, children)

    def mean_merge(self, meta, children):
        return ast.Merge(self._s(meta), "mean", children[1], children[0])

    def mean_args(self, meta, children):
        """`drop=0.15 ...`: keyword arguments only, as (name token, value) pairs."""
        pairs = zip(children[::2], children[1::2])
        return tuple(ast.Arg(_tok_span(self.file, name), str(name), value) for name, value in pairs)

    def residual(self, meta, children):
        return ast.Residual(self._s(meta), children[0], children[1])

    def valueref(self, meta, children):
        return ast.ValueItem(self._s(meta), str(children[0])[1:])

    # statements
    def let_stmt(self, meta, children):
        return ast.Let(self._s(meta), str(children[0]), children[1])

    def for_stmt(self, meta, children):
        var, start, end, body = children
        return ast.For(self._s(meta), str(var), start, end, body)

    def if_stmt(self, meta, children):
        cond, then, otherwise = children
        return ast.If(self._s(meta), cond, then, otherwise)

    def stem_section(self, meta, children):
        return ast.Section(self._s(meta), "stem", children[0])

    def head_section(self, meta, children):
        return ast.Section(self._s(meta), "head", children[0])

    def stages(self, meta, children):
        return ast.Stages(self._s(meta), children[0], children[1])

    def stage_rows(self, meta, children):
        return tuple(c for c in children if c is not None)

    def stage_row(self, meta, children):
        label, rest = children[0], children[1:]
        args, repeats = [], None
        for c in rest:
            if isinstance(c, tuple) and c and c[0] == "repeat":
                if repeats is not None:
                    raise SpecSyntaxError("a stage row has one repeat count", c[1].span,
                                          "write the count once, like `layer1: 64 x3`")
                repeats = c[1]
            else:
                args.append(_as_arg(c))
        return ast.StageRow(self._s(meta), label, tuple(args), repeats)

    def paren_arg(self, meta, children):
        return children[0]

    def repeat(self, meta, children):
        tok = children[0]
        span = _tok_span(self.file, tok)
        return ("repeat", ast.Number(span, _whole_token(str(tok)[1:], span), str(tok)))

    def repeat_expr(self, meta, children):
        return ("repeat", children[1])

    def require_stmt(self, meta, children):
        cond, message = children
        return ast.Require(self._s(meta), cond, message.value[1:-1] if message is not None else None)

    def input_stmt(self, meta, children):
        return ast.InputStmt(self._s(meta), children[0])

    def budget_stmt(self, meta, children):
        return ast.Budget(self._s(meta), tuple(children))

    def budget_item(self, meta, children):
        metric, op, limit = children
        return ast.BudgetItem(self._s(meta), str(metric), str(op), limit)

    def stochastic_depth(self, meta, children):
        return ast.StochasticDepth(self._s(meta), children[0])

    def init_stmt(self, meta, children):
        """An init section is written as a body of `target: initialiser(...)` items; anything else in
        it is an error here, at the item."""
        rules = []
        for stmt in children[0].statements:
            elements = stmt.elements if isinstance(stmt, ast.Chain) else (stmt,)
            for element in elements:
                if not (isinstance(element, ast.Labelled) and isinstance(element.item, ast.Call)):
                    raise SpecSyntaxError("an init section holds rules like `conv: kaiming_normal(mode=fan_out)`",
                                          element.span, "write `TARGET: INITIALISER(...)`, one rule per item; "
                                          "targets are layer kinds (conv, bn, fc, ...)")
                label = element.label
                rules.append(ast.InitRule(element.span, label.template, label.span, element.item, label.quoted))
        return ast.InitSection(self._s(meta), tuple(rules))

    def aux_stmt(self, meta, children):
        return ast.AuxHead(self._s(meta), children[0], children[1])

    def aux_from_stmt(self, meta, children):
        name, source, item = children
        label = ast.Label(_tok_span(self.file, name), str(name))
        return ast.AuxHead(self._s(meta), label, item, str(source)[1:], _tok_span(self.file, source))

    def outputs_stmt(self, meta, children):
        name, *fields = (c for c in children if c is not None)
        return ast.Outputs(self._s(meta), str(name), tuple(fields))

    def output_field(self, meta, children):
        name, source = children
        return ast.OutputField(self._s(meta), str(name), str(source))

    # tables
    def table_def(self, meta, children):
        name, title, rows = children
        return ast.TableDef(self._s(meta), str(name), title.value[1:-1] if title else None, rows)

    def table_body(self, meta, children):
        return tuple(c for c in children if c is not None)

    def table_row(self, meta, children):
        name, target, args, *cells = children
        call = ast.Call(_tok_span(self.file, target), str(target), args, _tok_span(self.file, target))
        return ast.TableRow(self._s(meta), str(name), call, tuple(c for c in cells if c is not None))

    def cell(self, meta, children):
        return ast.TableCell(self._s(meta), str(children[0]), children[1])

    # expressions
    def number(self, meta, children):
        tok = children[0]
        span = _tok_span(self.file, tok)
        return ast.Number(span, _number(str(tok), span), str(tok))

    def negative_number(self, meta, children):
        tok = children[0]
        return ast.Number(self._s(meta), -_number(str(tok), self._s(meta)), "-" + str(tok))

    def dims(self, meta, children):
        tok = children[0]
        span = _tok_span(self.file, tok)
        values = tuple(_whole_token(v, span) for v in str(tok).replace("×", "x").split("x"))
        return ast.DimsLit(span, values)

    def string(self, meta, children):
        tok = children[0]
        return ast.String(_tok_span(self.file, tok), str(tok)[1:-1])

    def name(self, meta, children):
        tok = children[0]
        return ast.Name(_tok_span(self.file, tok), str(tok))

    def valueref_expr(self, meta, children):
        attrs = [str(c) for c in children[1:] if c is not None]  # `@a.b.pool`: a pool two scopes deep
        return ast.ValueRef(self._s(meta), str(children[0])[1:], ".".join(attrs) if attrs else None)

    def _bin(op):
        def build(self, meta, children):
            return ast.BinOp(self._s(meta), op, children[0], children[-1])
        return build

    add = _bin("+")
    sub = _bin("-")
    mul = _bin("*")
    div = _bin("/")
    floordiv = _bin("//")
    mod = _bin("%")
    pow = _bin("**")
    and_ = _bin("and")
    or_ = _bin("or")
    del _bin

    def compare(self, meta, children):
        return ast.BinOp(self._s(meta), str(children[1]), children[0], children[2])

    def neg(self, meta, children):
        return ast.UnaryOp(self._s(meta), "-", children[0])

    def not_(self, meta, children):
        return ast.UnaryOp(self._s(meta), "not", children[0])

    def conditional(self, meta, children):
        then, cond, otherwise = children
        return ast.Conditional(self._s(meta), then, cond, otherwise)

    def list(self, meta, children):
        return ast.ListLit(self._s(meta), tuple(c for c in children if c is not None))

    def map(self, meta, children):
        return ast.MapLit(self._s(meta), tuple(c for c in children if c is not None))

    def map_entry(self, meta, children):
        return (children[0], children[1])

    def index(self, meta, children):
        return ast.Index(self._s(meta), children[0], children[1])

    def attr(self, meta, children):
        return ast.Attr(self._s(meta), children[0], str(children[1]))

    def func_call(self, meta, children):
        args, keywords = [], []
        for c in children[1:]:
            if c is None:
                continue
            if isinstance(c, tuple):
                if keywords and c[0] in {k[0] for k in keywords}:
                    raise SpecSyntaxError(f"'{c[0]}' is given twice", c[2], "give each argument once")
                keywords.append(c)
            elif keywords:
                raise SpecSyntaxError("a positional argument cannot follow a keyword argument", c.span,
                                      "put positional arguments first: f(a, b, key=c)")
            else:
                args.append(c)
        return ast.FuncCall(self._s(meta), str(children[0]), tuple(args), tuple(keywords))

    def func_positional(self, meta, children):
        return children[0]

    def func_keyword(self, meta, children):
        return (str(children[0]), children[1], self._s(meta))

    def list_comp(self, meta, children):
        item, var, iterable, cond = children
        return ast.ListComp(self._s(meta), item, str(var), iterable, cond)
