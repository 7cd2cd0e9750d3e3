"""Expressions and names of the language: `**`, log/exp/sqrt, rounding to a multiple, list
comprehensions, the spec's own `def` functions, quoted labels and words of the language as labels.

The oracles are Python's own arithmetic and torchvision's width rules (`_make_divisible`,
RegNet's `BlockParams.from_init_params`), computed by torchvision's code, not by us."""
from __future__ import annotations

import importlib
import math
import sys
import types
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resdsl.diagnostics import (ArgumentError, EvaluationError, LimitError, NameResolutionError, RequirementError,
                                ResdslError, SpecSyntaxError)
from resdsl.elaborate.elaborator import Elaborator
from resdsl.elaborate.values import Env, Evaluator
from resdsl.pipeline import load, load_program
from resdsl.syntax.parser import parse_expression

SPECS = Path(__file__).resolve().parent.parent / "specs"
WIDTH_RULES = SPECS / "examples" / "width_rules.res"


def value(text: str, env: Env | None = None):
    return Evaluator(env or Env(), {}).eval(parse_expression(text))


def spec_functions(path_or_text) -> Env:
    """The global scope of a program (its `def`s), to call them from a test."""
    return Elaborator(load_program(path_or_text)).globals


@pytest.fixture(scope="module")
def torchvision():
    sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
    try:
        return importlib.import_module("torchvision")
    except ImportError as err:  # pragma: no cover - the oracle is optional
        pytest.skip(f"torchvision is not installed: {err}")


# ---- arithmetic ----------------------------------------------------------------------------------


def test_power_binds_like_python():
    assert value("-2 ** 2") == -4
    assert value("2 ** 3 ** 2") == 512
    assert value("2 ** -1") == 0.5
    assert value("2 * 3 ** 2") == 18
    assert value("pow(3, 4)") == 81 and isinstance(value("pow(3, 4)"), int)


@settings(max_examples=200, deadline=None)
@given(st.integers(-40, 40), st.integers(0, 12))
def test_whole_powers_equal_python(a, b):
    got = value(f"({a}) ** {b}")
    assert got == a ** b and type(got) is int


@settings(max_examples=200, deadline=None)
@given(st.floats(0.01, 1e6), st.floats(-3, 3))
def test_real_functions_equal_math(x, y):
    env = Env({"x": x, "y": y})
    assert value("log(x)", env) == math.log(x)
    assert value("log2(x)", env) == math.log2(x)
    assert value("sqrt(x)", env) == math.sqrt(x)
    assert value("exp(y)", env) == math.exp(y)
    assert value("x ** y", env) == x ** y
    assert value("log(x, 10)", env) == pytest.approx(math.log10(x), rel=1e-12)


@settings(max_examples=300, deadline=None)
@given(st.floats(0, 1e5), st.sampled_from([1, 2, 4, 8, 16, 0.5]))
def test_round_to_is_the_nearest_multiple(x, m):
    got = value(f"round_to(x, {m})", Env({"x": x}))
    assert got == round(x / m) * m
    assert abs(got - x) <= m / 2 + 1e-9


@pytest.mark.parametrize("text, words", [
    ("log(0)", "undefined"), ("log2(-1)", "undefined"), ("sqrt(-4)", "not a real number"),
    ("(-8) ** 0.5", "fractional power"), ("10 ** 100000", "too large"), ("0 ** -1", "negative power"),
    ("exp(1000)", "range"), ("round_to(3, 0)", "positive"), ("log(8, 1)", "base"),
    ('"a" ** 2', "needs numbers"), ("range(1.5)", "whole numbers"),
])
def test_undefined_arithmetic_is_a_located_error(text, words):
    with pytest.raises(EvaluationError) as err:
        value(text)
    assert words in err.value.message
    assert err.value.span.line == 1


def test_comprehensions_map_and_filter():
    assert value("[i * i for i in range(5) if i % 2 == 0]") == [0, 4, 16]
    assert value("[x + 1 for x in [1, 2, 3]]") == [2, 3, 4]
    assert value("sum([i for i in range(1, 5)])") == 10
    assert value("[a if a > 1 else 0 for a in range(3)]") == [0, 0, 2]
    with pytest.raises(EvaluationError, match="runs over a list"):
        value("[x for x in 3]")


def test_nested_comprehensions_hit_the_evaluation_limit_quickly():
    with pytest.raises(LimitError) as err:
        value("[[j for j in range(100000)] for i in range(100000)]")
    assert "steps" in err.value.message


# ---- functions ------------------------------------------------------------------------------------


def test_functions_with_defaults_keywords_and_steps():
    env = spec_functions("""
def half(x) = x / 2
def clamp(v, lo=0, hi=lo + 10) = max(lo, min(hi, v))
def both(a, b=2) {
  let s = a + b
  require s > 0 "a + b must be positive"
  return [half(s), clamp(s, hi=4)]
}
network n { input 3x8x8 }
""")
    assert value("half(7)", env) == 3.5
    assert value("clamp(25)", env) == 10 and value("clamp(-3, lo=-1)", env) == -1
    assert value("both(3)", env) == [2.5, 4]
    with pytest.raises(RequirementError) as err:
        value("both(-5)", env)
    assert err.value.message == "a + b must be positive"
    assert err.value.diagnostics[0].notes[-1][1] == "in this call of both"
    with pytest.raises(NameResolutionError, match="no parameter 'c'"):
        value("both(1, c=2)", env)
    with pytest.raises(ArgumentError, match="needs a value for 'a'"):
        value("both()", env)
    with pytest.raises(ArgumentError, match="takes 1 positional argument"):
        value("half(1, 2)", env)


def test_a_function_sees_only_its_parameters_and_other_functions():
    env = spec_functions("""
def leak(x) = x + width
network n(width=3) { input 3x8x8 }
""").child({"width": 3})
    with pytest.raises(NameResolutionError, match="unknown name 'width'"):
        value("leak(1)", env)


def test_a_variable_does_not_hide_a_builtin_function():
    assert value("max(2, 5)", Env({"max": 1})) == 5
    with pytest.raises(EvaluationError, match="not a function"):
        value("width(3)", Env({"width": 3}))


def test_unknown_functions_suggest_builtins_and_defs():
    env = spec_functions("def make_divisible(v, d=8) = v\nnetwork n { input 3x8x8 }")
    with pytest.raises(NameResolutionError) as err:
        value("make_divisable(3)", env)
    assert "make_divisible" in err.value.hint
    with pytest.raises(NameResolutionError) as err:
        value("lg(3)")
    assert "log" in err.value.hint
    with pytest.raises(NameResolutionError, match="no keyword"):
        value("max(1, b=2)")


@pytest.mark.parametrize("source, words", [
    ("def f(n) = f(n - 1)", "function f calls itself"),
    ("def f(n) = g(n)\ndef g(n) = 1 + f(n)", "(f -> g -> f)"),
    ("def f(n, m=f(1)) = n", "function f calls itself"),
])
def test_recursion_is_refused_where_it_is_written(source, words):
    with pytest.raises(NameResolutionError) as err:
        load_program(source + "\nnetwork n { input 3x8x8 }")
    assert words in str(err.value.message)
    assert err.value.span.line >= 1


def test_defs_cannot_take_builtin_names_or_be_defined_twice():
    with pytest.raises(NameResolutionError, match="built-in function"):
        load_program("def log(x) = x\nnetwork n { input 3x8x8 }")
    with pytest.raises(NameResolutionError, match="duplicate function"):
        load_program("def f(x) = x\ndef f(y) = y\nnetwork n { input 3x8x8 }")


def test_functions_are_usable_in_parameters_lets_and_arguments():
    net = load("""
def double(x) = 2 * x
block unit(width=double(8)) { conv 3x3 width, relu }
network n(base=double(2)) {
  input 3x8x8
  let w = double(base)
  a: unit
  b: conv(3x3, double(w))
}
""")
    convs = [n.op for n in net.graph.nodes if n.op.kind == "conv"]
    assert [c.out_channels for c in convs] == [16, 16]


# ---- the reference width rules, written in the spec -----------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.floats(0.5, 4096, allow_nan=False), st.sampled_from([1, 2, 4, 8, 16, 32]),
       st.one_of(st.none(), st.integers(1, 64)))
def test_make_divisible_in_the_spec_equals_torchvisions(torchvision, v, divisor, min_value):
    from torchvision.models._utils import _make_divisible

    env = _width_rules()
    args = {"v": v, "d": divisor} | ({"m": min_value} if min_value is not None else {})
    call = "make_divisible(v, d, m)" if min_value is not None else "make_divisible(v, d)"
    assert value(call, env.child(args)) == _make_divisible(v, divisor, min_value)


def _width_rules(cache={}):  # noqa: B006 - one parse per test session
    if "env" not in cache:
        cache["env"] = spec_functions(WIDTH_RULES)
    return cache["env"]


def _regnet_configs(torchvision) -> dict[str, dict]:
    """The init params of every torchvision RegNet, captured from its own builders."""
    from torchvision.models import regnet

    configs: dict[str, dict] = {}

    class Captured(Exception):
        pass

    original = regnet.BlockParams.from_init_params

    def capture(cls_or_depth=None, **kwargs):
        raise Captured(kwargs)

    names = [n for n in dir(regnet) if n.startswith("regnet_") and callable(getattr(regnet, n))]
    regnet.BlockParams.from_init_params = classmethod(lambda cls, **kw: capture(**kw))
    try:
        for name in names:
            try:
                getattr(regnet, name)()
            except Captured as got:
                configs[name] = got.args[0]
    finally:
        regnet.BlockParams.from_init_params = original
    return configs


def test_regnet_widths_in_the_spec_equal_torchvisions_block_params(torchvision):
    from torchvision.models.regnet import BlockParams

    configs = _regnet_configs(torchvision)
    assert len(configs) == 15, sorted(configs)
    env = _width_rules()
    for name, kw in configs.items():
        ref = BlockParams.from_init_params(**kw)
        local = env.child({"depth": kw["depth"], "w_0": kw["w_0"], "w_a": kw["w_a"], "w_m": kw["w_m"],
                           "g": kw["group_width"], "b": kw.get("bottleneck_multiplier", 1.0)})
        blocks = value("regnet_block_widths(depth, w_0, w_a, w_m)", local)
        local = local.child({"blocks": blocks})
        assert value("regnet_stage_depths(blocks)", local) == list(ref.depths), name
        assert value("regnet_widths(regnet_stage_widths(blocks), g, b)", local) == list(ref.widths), name
        assert value("regnet_group_widths(regnet_stage_widths(blocks), g, b)", local) == list(ref.group_widths), name


def test_the_width_rules_example_builds():
    net = load(WIDTH_RULES)
    assert [s for s in net.by_stage] == ["stem", "block1", "block2", "block3", "block4", "head"]
    assert net.graph.output_type.channels == 10


# ---- labels -----------------------------------------------------------------------------------------


def test_quoted_labels_and_language_words_name_modules():
    net = load("""
network n {
  input 3x8x8
  stem: { conv 3x3 8, bn }
  "block1-0": conv 3x3 8
  input: relu
  add: conv 1x1 8
  stages basic {
    head: 8
    "layer-2": 8 /2
  }
  for i in 0..1 { "unit{i}-a": conv 1x1 8 }
}
""")
    paths = [n.path for n in net.graph.nodes if n.op.is_layer]
    assert "stem.0" in paths and "block1-0" in paths and "input" in paths and "add" in paths
    assert "head.0.conv1" in paths and "layer-2.0.downsample.0" in paths
    assert "unit0-a" in paths and "unit1-a" in paths
    # the words still start their statements
    assert load("network n {\n input 3x8x8\n stem conv 3x3 8\n head gap\n}").by_stage.keys() == {"stem", "head"}


@pytest.mark.parametrize("label", ['"a.b"', '"a b"', '"{x}"'])
def test_quoted_labels_that_cannot_name_a_module_are_refused_where_written(label):
    with pytest.raises(ResdslError) as err:
        load(f"network n {{\n  input 3x8x8\n  {label}: conv 3x3 8\n}}")
    assert err.value.span.line == 3 and err.value.span.column == 3


def test_an_empty_quoted_label_is_a_syntax_error():
    with pytest.raises(SpecSyntaxError, match="cannot be empty"):
        load('network n {\n  input 3x8x8\n  "": conv 3x3 8\n}')


def test_quoted_labels_are_state_dict_keys(torchvision):
    import torch

    from resdsl.backends.torch import build_module

    net = load('network n {\n input 3x8x8\n "block1-0": { conv 3x3 8, bn }\n fc 4\n}')
    module = build_module(net)
    assert "block1-0.0.weight" in module.state_dict()
    assert module(torch.randn(2, 3, 8, 8)).shape == (2, 4)
