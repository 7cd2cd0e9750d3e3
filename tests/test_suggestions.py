"""Hints for unknown ops never steer silently to an op with other semantics, and split's parts are
refused anywhere but the merge that follows."""
from __future__ import annotations

import pytest

import resdsl
from resdsl.diagnostics import ResdslError


def _hint(line: str) -> str:
    with pytest.raises(ResdslError) as err:
        resdsl.load(f"network t {{\n  input 8x8x8\n  {line}\n}}\n")
    return err.value.hint or ""


@pytest.mark.parametrize("typed, meant", [("ReLU6", "relu6"), ("LeakyReLU", "leaky_relu"), ("swish", "silu"),
                                          ("Hardswish", "hardswish"), ("GELU", "gelu"), ("BatchNorm2d", "bn"),
                                          ("LayerNorm2d", "layernorm"), ("ChannelShuffle", "channel_shuffle")])
def test_other_spellings_of_an_op_go_to_it(typed, meant):
    assert _hint(typed).startswith(f"did you mean '{meant}'?")


def test_relu7_is_not_steered_to_one_op():
    hint = _hint("relu7")
    assert "there is no op 'relu7'" in hint
    assert "'relu' (rectified linear unit, max(x, 0))" in hint and "'relu6' (min(max(x, 0), 6)" in hint


@pytest.mark.parametrize("typed", ["selu", "sigmod", "relu8"])
def test_near_misses_list_what_each_candidate_computes(typed):
    hint = _hint(typed)
    assert hint.startswith(f"there is no op '{typed}'") and "pick the one that computes what you mean" in hint


def test_existing_ops_are_never_errors():
    for line in ("relu6", "silu", "hardswish", "hardsigmoid", "gelu", "leaky_relu", "elu", "prelu", "tanh",
                 "softmax", "layernorm", "layer_scale", "groupnorm 2", "lrn 3", "upsample 2", "channel_fc 4",
                 "channel_shuffle 2"):
        resdsl.load(f"network t {{\n  input 8x8x8\n  {line}\n}}\n")


@pytest.mark.parametrize("body, message, line", [
    ("chunk 2\n  relu", "the parts of a split feed the branches of a merge", 4),
    ("chunk 2", "the parts of a split feed the branches of a merge", 3),
    ("chunk 2\n  concat {\n    identity\n  }", "makes 2 parts, but it has 1 branch", 4),
    ("split [3, 5]\n  concat {\n    identity\n    relu\n    relu\n  }", "more branches than the 2 parts", 7),
    ("split [3, 4]", "add up to 7 channels, but the input has 8", 3),
    ("chunk 3", "chunk 3 does not divide the 8 channels", 3),
    ("s: chunk 2", "takes no label", 3),
    ("upsample", "a scale or a size, exactly one", 3),
    ("upsample 2 mode=max", "mode is one of nearest, bilinear", 3),
    ("upsample 2 mode=bilinar", "unknown name 'bilinar'", 3),
    ("upsample 2 align_corners=true", "align_corners applies to mode=bilinear only", 3),
    ("leaky_relu -0.1", "slope must be at least 0", 3),
    ("gelu approximate=avg", "approximate is one of none, tanh", 3),
    ("groupnorm 3", "3 groups do not divide the 8 channels", 3),
    ("flatten, layer_scale", "layer_scale needs a CxHxW feature map", 3),
])
def test_misuse_is_located(body, message, line):
    with pytest.raises(ResdslError) as err:
        resdsl.load(f"network t {{\n  input 8x8x8\n  {body}\n}}\n")
    assert message in err.value.message
    assert err.value.span.line == line
