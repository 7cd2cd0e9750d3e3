"""The one rule set for names (resdsl/ir/names.py): what check refuses, build and compile never meet."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

import resdsl
from resdsl.diagnostics import NameResolutionError, ResdslError
from resdsl.ir.names import NN_MODULE_ATTRIBUTES, class_name_problem, label_problem


def test_the_list_is_torchs_module_attributes():
    pytest.importorskip("torch.nn")
    # In a fresh interpreter: torch.compile, run by other tests in this process, patches nn.Module
    # with private markers (`___needs_generation_tag_patch`) that are not the installed torch's API.
    code = ("import json, torch.nn as nn; "
            "print(json.dumps(sorted(set(dir(nn.Module)) | set(vars(nn.Module())))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert set(json.loads(out)) == NN_MODULE_ATTRIBUTES


@pytest.mark.parametrize("label", ["forward", "training", "_modules", "_parameters", "state_dict", "to",
                                   "conv\u00b2", "x\ufb01", "x\u212a", "e\u0301", "__secret",
                                   "input_shape", "resdsl_network", "a b", "x.y", ""])
def test_illegal_labels(label):
    assert label_problem(label) is not None


@pytest.mark.parametrize("label", ["conv1", "layer1", "0", "12", "block1-0", "downsample", "größe", "match", "type_",
                                   "_private", "stem", "head", "x\u00e9", "class", "import", "None"])
def test_legal_labels(label):
    assert label_problem(label) is None


@pytest.mark.parametrize("name, ok", [("none", False), ("true", False), ("false", False), ("None", False),
                                      ("resnet50", True), ("dense_layer", True), ("class", True)])
def test_class_names(name, ok):
    assert (class_name_problem(name, "block") is None) == ok


@pytest.mark.parametrize("label", ["forward", "training", "conv\u00b2", "x\ufb01", "x\u212a", "_modules"])
def test_check_refuses_at_the_label(label):
    text = f"network t {{\n  input 3x8x8\n  conv 1x1 4\n  {label}: conv 3x3 4\n}}\n"
    with pytest.raises(NameResolutionError) as err:
        resdsl.load(text)
    assert (err.value.span.line, err.value.span.column) == (4, 3)
    assert err.value.hint


def test_labels_that_fold_together_are_refused_before_they_collide():
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    text = f"network t {{\n  input 3x8x8\n  {composed}: conv 3x3 4\n  {decomposed}: relu\n}}\n"
    with pytest.raises(ResdslError) as err:  # the parser already refuses the combining accent
        resdsl.load(text)
    assert err.value.span.line == 4


def test_everything_check_accepts_builds_and_compiles(tmp_path):
    torch = pytest.importorskip("torch")
    from resdsl.backends import pycode

    text = ("network t {\n  input 3x8x8\n  größe: conv 3x3 4\n  match: relu\n  _private: conv 1x1 4\n"
            "  type_: { conv 1x1 4, relu }\n  class: conv 1x1 4\n}\n")
    net = resdsl.load(text)
    built = resdsl.build(net)
    generated = pycode.load_source(pycode.generate(net))()
    generated.load_state_dict(built.state_dict(), strict=True)
    x = torch.randn(1, 3, 8, 8)
    assert torch.equal(built.eval()(x), generated.eval()(x))
