"""Issue 12 reproducers, part 1: the work budget, nesting depth and numbers.  Each absurd spec is refused
quickly with a located `LimitError` (exit 1 from the CLI) that names the limit it passed."""
from __future__ import annotations

import time

import pytest

import resdsl
from resdsl import limits
from resdsl.diagnostics import LimitError

from golden_util import run_cli

NET = "network t {{ input 3x8x8\n{body}\n relu }}\n"


def _doublings(start: str, n: int, pair: str = "{0} + {0}") -> str:
    lines = [f"let s0 = {start}"] + [f"let s{i + 1} = " + pair.format(f"s{i}") for i in range(n)]
    return "\n".join(lines)


# name -> (spec body, message fragment, line of the error)
CASES = {
    "identity_loops": ("for i in 1..1000 { for j in 1..1000 { for k in 1..1000 { identity } } }",
                       f"{limits.MAX_STEPS:,} evaluation steps", 2),
    "let_loops": ("for i in 1..100000 { for j in 1..100000 { let a = i * j } }", "evaluation steps", 2),
    "stage_rows": ("stages basic { l: 16 x100000 }", "would grow the network to about", 2),
    "string_doubling": (_doublings('"ab"', 35), "this string has", 18),
    "list_doubling": (_doublings("[1]", 35), "holds more than 100,000 items", 19),
    "shared_sublists": (_doublings("[1]", 60, "[{0}, {0}]"), "holds more than 100,000 items", 18),
    "squaring": (_doublings("3", 27, "{0} * {0}"), "more than 100 digits", 10),
    "braces": ("{ " * 200 + "relu" + " }" * 200, "brackets nest more than 100 deep", 2),
    "brackets": ("let a = " + "[" * 1000 + "1" + "]" * 1000, "brackets nest more than 100 deep", 2),
    "unary_minus": ("let a = " + "-" * 1000 + "1", "nests more than 100 levels", 2),
    "flat_chain": ("let a = " + " + ".join(["1"] * 500), "1 + 1 + ... is a level", 2),
    "long_literal": ("let a = " + "9" * 5000, "written with more than 100 digits", 2),
    "long_size": ("conv 3x" + "3" * 5000 + " 8", "more than 100 digits", 2),
    "long_repeat": ("stages basic { l: 16 x" + "1" * 5000 + " }", "more than 100 digits", 2),
    "int_true_division": ("let a = " + "9" * 99 + " * " + "9" * 99 + " / 7", "more than 100 digits", 2),
    "inf_literal": ("let a = 1e309 // 2", "too large (it overflows)", 2),
    "float_floor_division": ("let a = 1e308 // 1e-308", "'//' overflows", 2),
    "float_product": ("let a = 1e300 * 1e300", "not finite", 2),
    "huge_exponent": ("let a = 1e9999999", "too large", 2),
    "tiny_exponent": ("let a = 1e-9999999", "too small (it underflows to 0)", 2),
    "int_of_big_float": ("let a = int(1e300)", "more than 100 digits", 2),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_absurd_specs_are_refused_quickly_and_located(name):
    body, fragment, line = CASES[name]
    start = time.perf_counter()
    with pytest.raises(LimitError) as info:
        resdsl.load(NET.format(body=body))
    assert time.perf_counter() - start < 10  # a generous bound: the point is "not hours"
    err = info.value
    assert fragment in f"{err.message} {err.hint}", err.render()
    assert (err.span.file, err.span.line) == ("<string>", line)
    assert err.span.column >= 1
    assert "error:" in err.render().splitlines()[0]


def test_dense_block_of_100000_layers_is_refused_before_building():
    with pytest.raises(LimitError) as info:
        resdsl.load(NET.format(body="dense_block(100000, 12)"))
    assert "would grow the network to about 700,001 ops; the limit is 100,000" in info.value.message
    assert info.value.span.file == "<string>" and info.value.span.line == 2  # the user's call, not the prelude


def test_set_depth_600002_is_refused_before_building(tmp_path):
    start = time.perf_counter()
    code, out, err = run_cli(tmp_path, ["check", str(_spec("cifar/resnet20.res")), "--set", "depth=600002"])
    assert time.perf_counter() - start < 10
    assert code == 1
    assert "resnet_cifar.res:" in err and "would grow the network to about 700,004 ops" in err


@pytest.mark.parametrize("depth, fragment", [
    (2147483648, "this stage repeats its block 357,913,941 times; the limit is 100,000"),  # one row too long
    (600002, "stochastic_depth counts 300,000 stage blocks ahead"),  # rows within the limit, together not
])
def test_stochastic_depth_of_a_huge_network_is_refused_before_its_schedule(tmp_path, depth, fragment):
    """The fuzz battery's one hang (mutant 2160 of seed 12): stochastic depth counted the stage blocks up front
    and built a survival per block, 357 million of them, before any stage limit could refuse."""
    start = time.perf_counter()
    code, _, err = run_cli(tmp_path, ["check", str(_spec("cifar/resnet110_stochastic_depth.res")),
                                      "--set", f"depth={depth}"])
    assert time.perf_counter() - start < 10
    assert code == 1 and fragment in err and "resnet_cifar_sd.res:" in err, err


def test_a_huge_set_value_is_a_usage_error_that_does_not_echo_it(tmp_path):
    code, _, err = run_cli(tmp_path, ["check", str(_spec("cifar/resnet20.res")), "--set", "depth=" + "9" * 5000])
    assert code == 2
    assert "more than 100 digits" in err and len(err) < 1000


def test_unlabelled_top_level_items_take_linear_time():
    """Each unlabelled item used to rescan every earlier stage name (4,000 items: 55 s)."""
    def seconds(n: int) -> float:
        start = time.perf_counter()
        net = resdsl.load("network t { input 3x8x8\n" + "relu\n" * n + "}")
        assert len(net.graph.stages) == n
        return time.perf_counter() - start

    small, big = seconds(500), seconds(4000)
    assert big < 30 * small + 1  # 8x the items; quadratic would be 64x


def test_the_largest_shipped_specs_use_a_few_per_cent_of_the_work_budget():
    from resdsl.elaborate.elaborator import Elaborator
    from resdsl.pipeline import load_program

    for spec, name in (("cifar/densenet_bc250_k24.res", "densenet_bc250_k24"), ("cifar/resnet1202.res", "resnet1202")):
        elaborator = Elaborator(load_program(_spec(spec)))
        elaborator.network(name)
        assert 0 < elaborator.work.steps < limits.MAX_STEPS // 5


def test_nesting_within_the_limit_works_through_every_stage():
    deep_expr = "let a = " + "-" * 40 + "1"
    braces = "{ " * 30 + "relu" + " }" * 30
    net = resdsl.load(NET.format(body=deep_expr + "\n" + braces))
    assert net.output_type.shape == (3, 8, 8)


def _spec(relative: str):
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "specs" / relative


def test_deep_recursion_through_nested_bodies_is_refused_at_a_call():
    """64 nested calls are allowed, but not when each nests braces and merges: the call that overflows
    Python's stack is reported instead of a RecursionError."""
    body = "{ " * 8 + "concat {\n identity\n { let q = " + "-" * 28 + "1\n r(d - 1) }\n }" + " }" * 8
    text = f"block r(d) {{\n  if d > 0 {{\n    {body}\n  }}\n}}\nnetwork t {{ input 3x8x8\n  r(70)\n}}\n"
    with pytest.raises(LimitError) as info:
        resdsl.load(text)
    assert "go too deep to elaborate here" in info.value.message
    assert info.value.span.file == "<string>" and info.value.span.line == 6


@pytest.mark.parametrize("name", sorted(CASES))
def test_absurd_specs_exit_1_from_the_cli_with_a_located_message(tmp_path, name):
    body, fragment, line = CASES[name]
    (tmp_path / "absurd.res").write_text(NET.format(body=body))
    code, out, err = run_cli(tmp_path, ["check", "absurd.res"])
    assert code == 1 and out == ""
    assert err.startswith(f"absurd.res:{line}:") and ": error: " in err.split("\n")[0]
    assert fragment in err and "Traceback" not in err and "internal error" not in err


@pytest.mark.parametrize("shape", ["3x8x" + "9" * 5000, "3x²x8", "3x0x8", "3x8"])
def test_odd_input_shapes_are_usage_errors(tmp_path, shape):
    code, _, err = run_cli(tmp_path, ["count", str(_spec("cifar/resnet20.res")), "--input", shape])
    assert code == 2 and "--input takes a shape CxHxW" in err and len(err) < 400


def test_spec_text_and_files_past_the_size_limit_are_refused_before_parsing(tmp_path):
    big = "network t { input 3x8x8\n" + "relu\n" * (limits.MAX_SOURCE_BYTES // 5) + "}\n"
    with pytest.raises(LimitError) as info:
        resdsl.loads(big)
    assert "longer than 262,144 characters" in info.value.message and info.value.span.line == 1
    (tmp_path / "big.res").write_text(big)
    code, _, err = run_cli(tmp_path, ["check", "big.res"])
    assert code == 1 and err.startswith("big.res:1:1: error: the file is larger than 262,144 bytes")


def test_parentheses_nested_3000_deep_are_refused_before_parsing():
    start = time.perf_counter()
    with pytest.raises(LimitError) as info:
        resdsl.load(NET.format(body="let a = " + "(" * 3000 + "1" + ")" * 3000))
    assert time.perf_counter() - start < 10
    assert "brackets nest more than 100 deep" in info.value.message
    assert (info.value.span.line, info.value.span.column) == (2, 108)  # the 101st level, counting the network


def test_a_list_used_as_a_map_key_is_a_located_error():
    """Found by the 10,000-mutant battery: `{18: 2}[[1]]` raised TypeError (exit 3 from the CLI)."""
    with pytest.raises(resdsl.EvaluationError) as info:
        resdsl.load(NET.format(body="let a = {18: 2}[[1]]"))
    assert "a map key is a number, word, string or size, not a list" in info.value.message
    assert (info.value.span.line, info.value.span.column) == (2, 17)
