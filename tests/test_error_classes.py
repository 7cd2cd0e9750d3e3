"""Each kind of mistake has its own error class under ResdslError; ShapeError means shapes."""
from __future__ import annotations

import pytest

import resdsl
from resdsl import diagnostics as d

CASES = [
    ("add {\n    identity\n    conv 3x3 16\n  }", d.ShapeError),
    ("conv 3x3 4 /2 groups=3", d.ShapeError),
    ("flatten, layer_scale", d.ShapeError),
    ("conv 3x3", d.ArgumentError),
    ("conv 3x3 4 5 6 7 8 9 10 11", d.ArgumentError),
    ("dropout 2", d.ArgumentError),
    ("init { conv: normal(std=0) }", d.ArgumentError),
    ("residual shortcut=max { conv 3x3 8 }", d.ArgumentError),
    ("conv(3x3, [1, 2][5])", d.EvaluationError),
    ("conv(3x3, 8 // 0)", d.EvaluationError),
    ("conv(3x3, true + 1)", d.EvaluationError),
    ("require 1 > 2 \"never\"", d.RequirementError),
    ("concat {\n    identity\n  }", d.StructureError),
    ("chunk 2\n  relu", d.StructureError),
]


@pytest.mark.parametrize("line, cls", CASES, ids=[c[0].split("\n")[0] for c in CASES])
def test_the_class_says_what_went_wrong(line, cls):
    with pytest.raises(d.ResdslError) as err:
        resdsl.load(f"network t {{\n  input 8x8x8\n  {line}\n}}\n")
    assert type(err.value) is cls, err.value.render()
    assert err.value.span.line >= 3


def test_the_classes_are_siblings():
    classes = (d.ShapeError, d.ArgumentError, d.EvaluationError, d.RequirementError, d.StructureError)
    for a in classes:
        assert a.__bases__ == (d.ResdslError,)
        assert getattr(resdsl, a.__name__) is a


def test_a_missing_input_is_a_structure_error():
    with pytest.raises(d.StructureError):
        resdsl.load("network t {\n  conv 3x3 8\n}\n")
