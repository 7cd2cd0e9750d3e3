"""`init { ... }` sections: rules resolved into the plan (no torch), and their errors located with hints."""
from __future__ import annotations

import subprocess
import sys

import pytest

import resdsl
from resdsl.diagnostics import ResdslError
from resdsl.ir.init import Initialiser, LayerInit

BASE = """
block unit(width, stride=1) {{
  {block_init}
  residual shortcut=B {{
    conv1: conv 3x3 width /stride, bn1: bn, relu, conv2: conv 3x3 width, bn2: bn
  }}
  relu
}}
network n(zero=false) {{
  input 3x16x16
  {net_init}
  stem conv 3x3 8, bn, relu
  stages unit {{
    layer1: 8 x2
    layer2: 16 x1 /2
  }}
  head gap, fc: fc 10
}}
"""


def _load(net_init: str = "", block_init: str = "", **overrides):
    return resdsl.load(BASE.format(net_init=net_init, block_init=block_init), **overrides)


def test_no_rules_keeps_torch_defaults():
    assert _load().init.empty


def test_network_rules_apply_by_layer_type_with_defaults_filled_in():
    plan = _load("init { conv: kaiming_normal(mode=fan_out, nonlinearity=relu)\n bn: constant(1, bias=0)\n"
                 " fc: normal(std=0.01, bias=0) }").init
    by_type = dict(plan.by_type)
    assert by_type["Conv2d"] == LayerInit(Initialiser("kaiming_normal", (("a", 0.0), ("mode", "fan_out"),
                                                                          ("nonlinearity", "relu"))))
    assert by_type["BatchNorm2d"] == LayerInit(Initialiser("constant", (("value", 1.0),)), 0.0)
    assert by_type["Linear"] == LayerInit(Initialiser("normal", (("mean", 0.0), ("std", 0.01))), 0.0)
    assert plan.by_path == ()  # every layer follows its type's rule


def test_variance_scaling_is_tensorflows_rule_with_defaults_filled_in():
    plan = _load("init { conv: variance_scaling(2, mode=fan_out)\n"
                 " fc: variance_scaling(distribution=slim_truncated_normal, bias=0) }").init
    by_type = dict(plan.by_type)
    assert by_type["Conv2d"] == LayerInit(Initialiser("variance_scaling", (
        ("scale", 2.0), ("mode", "fan_out"), ("distribution", "truncated_normal"))))
    assert plan.runtime_tables()[0]["Linear"] == (
        ("variance_scaling_", {"scale": 1.0, "mode": "fan_in", "distribution": "slim_truncated_normal"}), 0.0)
    assert plan.runtime_pieces() == ("variance_scaling_",)  # what a generated file must define
    assert _load("init { conv: kaiming_normal() }").init.runtime_pieces() == ()


def test_residual_bn_picks_the_last_bn_of_each_residual_branch_only():
    plan = _load("init { bn: ones(bias=0) }\n  if zero { init { residual_bn: zeros } }", zero=True).init
    assert [p for p, _ in plan.by_path] == ["layer1.0.bn2", "layer1.1.bn2", "layer2.0.bn2"]
    assert all(rule == LayerInit(Initialiser("zeros"), None) for _, rule in plan.by_path)
    # The projection's BN (layer2.0.downsample.1) and the stem's are not residual BNs.
    assert _load("init { bn: ones(bias=0) }\n  if zero { init { residual_bn: zeros } }").init.by_path == ()


def test_a_blocks_rules_win_over_the_networks_inside_its_instances():
    plan = _load("init { conv: kaiming_normal() }", "init { conv: xavier_uniform(gain=2) }").init
    paths = dict(plan.by_path)
    assert "layer1.0.conv1" in paths and "layer2.0.downsample.0" in paths
    assert "0" not in paths  # the stem conv follows the network's rule
    assert paths["layer1.0.conv1"].weight == Initialiser("xavier_uniform", (("gain", 2.0),))


def test_rules_may_use_network_parameters():
    text = BASE.replace("network n(zero=false)", "network n(zero=false, s=0.02)").format(
        net_init="init { fc: trunc_normal(std=s, a=-2 * s, b=2 * s) }", block_init="")
    rule = dict(resdsl.load(text, s=0.05).init.by_type)["Linear"]
    assert dict(rule.weight.args) == {"mean": 0.0, "std": 0.05, "a": -0.1, "b": 0.1}


@pytest.mark.parametrize("net_init, message, hint", [
    ("init { batchnorm: ones }", "unknown target 'batchnorm'", "did you mean 'bn'?"),
    ("init { cnov: ones }", "unknown target 'cnov'", "'conv'"),
    ("init { conv: kaiming_normal_() }", "unknown initialiser 'kaiming_normal_'", "did you mean 'kaiming_normal'?"),
    ("init { conv: he_normal() }", "unknown initialiser 'he_normal'", "did you mean 'kaiming_normal'?"),
    ("init { conv: he_normal() }", "unknown initialiser 'he_normal'",
     "Keras's he_normal is truncated: variance_scaling(scale=2)"),
    ("init { fc: truncated_normal(std=0.01) }", "unknown initialiser", "trunc_normal(std=s, a=-2 * s, b=2 * s)"),
    ("init { conv: kaiming_normal(mode=fan_ot) }", "mode is one of fan_in, fan_out", "'fan_out'"),
    ("init { conv: kaiming_normal(nonlinearity=rellu) }", "nonlinearity is one of", "'relu'"),
    ("init { conv: normal(sdt=0.1) }", "normal has no parameter 'sdt'", "did you mean 'std'?"),
    ("init { conv: normal(std=-1) }", "std must be positive", None),
    ("init { conv: uniform(1, 0) }", "a must be below b", None),
    ("init { bn: constant() }", "constant needs a value for 'value'", None),
    ("init { bn: constant(1, bias=fan_in) }", "bias takes a number", "or default"),
    ("init { bn: ones, bn: zeros }", "'bn' is given twice", None),
    ("init { conv 3x3 8 }", "an init section holds rules", "TARGET: INITIALISER"),
    ("init { conv: variance_scaling(mode=fan_inn) }", "mode is one of fan_in, fan_out, fan_avg", "'fan_in'"),
    ("init { conv: variance_scaling(distribution=truncated) }", "distribution is one of truncated_normal",
     "'truncated_normal'"),
    ("init { conv: variance_scaling(distribution=normal) }", "distribution is one of", "write truncated_normal"),
    ("init { conv: variance_scaling(scale=0) }", "scale must be positive, got 0", "scale=2 for ReLU"),
    ("init { conv: variance_scaling(2, fan_in, truncated_normal, 0, 1) }", "takes 4 positional arguments",
     "scale, mode, distribution, bias"),
    ("init { conv: variance_scaling_initializer() }", "unknown initialiser",
     "variance_scaling(scale=F, distribution=slim_truncated_normal)"),
    ("init { conv: VarianceScaling() }", "unknown initialiser", "did you mean 'variance_scaling'?"),
    ("init { conv: xavier() }", "unknown initialiser 'xavier'", "kaiming_uniform(nonlinearity=linear)"),
    ("init { conv: lecun_normal() }", "unknown initialiser", "variance_scaling(scale=1, mode=fan_in"),
])
def test_bad_rules_are_located_errors_with_hints(net_init, message, hint):
    with pytest.raises(ResdslError) as err:
        _load(net_init)
    assert message in err.value.message
    assert err.value.span.line == 11  # the network's init line
    if hint is not None:
        assert hint in (err.value.hint or "")


def test_sections_stand_at_the_top_of_a_network_or_block():
    with pytest.raises(ResdslError) as err:
        _load("", "residual shortcut=none {\n    init { conv: ones }\n    conv 3x3 width\n  }")
    assert "top level" in err.value.message and err.value.span.line == 4
    text = "group g(w) { init { conv: ones }\n conv 3x3 w }\nnetwork m { input 3x8x8\n g 4 }"
    with pytest.raises(ResdslError) as err:
        resdsl.load(text)
    assert "group g has no scope of its own" in err.value.message


def test_init_is_still_a_label_and_a_parameter_name():
    net = resdsl.load("network m(init=4) { input 3x8x8\n init: conv 3x3 init\n prelu init=0.5 }")
    assert net.graph.nodes[1].path == "init" and net.graph.nodes[1].op.out_channels == 4


def test_bad_init_from_the_cli_is_one_located_line(tmp_path):
    spec = tmp_path / "bad.res"
    spec.write_text(BASE.format(net_init="init { conv: kaiming_normal(mode=fanout) }", block_init=""))
    out = subprocess.run([sys.executable, "-m", "resdsl", "check", str(spec)], capture_output=True, text=True)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "bad.res:11:" in out.stderr and "'fan_out'" in out.stderr


def test_resolving_rules_does_not_import_torch():
    code = ("import sys, resdsl\n"
            "n = resdsl.load('specs/torchvision/resnet18.res', zero_init_residual=True)\n"
            "assert n.init.by_path and 'torch' not in sys.modules, sorted(m for m in sys.modules if 'torch' in m)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


# ---- path rules: a quoted target names one layer ------------------------------------------------


def test_a_quoted_target_names_one_layer_by_its_path_and_wins_over_its_kind():
    plan = _load('init { conv: kaiming_uniform(bias=0)\n "layer2.0.conv1": normal(std=0.01, bias=0)\n'
                 ' "fc": zeros }').init
    paths = dict(plan.by_path)
    assert list(paths) == ["layer2.0.conv1", "fc"]  # in graph order; every other conv follows by type
    assert paths["layer2.0.conv1"] == LayerInit(Initialiser("normal", (("mean", 0.0), ("std", 0.01))), None)
    assert paths["fc"] == LayerInit(Initialiser("zeros"), None)  # no bias: conv's bias=0 never applies to it
    assert dict(plan.rules)['"fc"'] == LayerInit(Initialiser("zeros"), None)


def test_a_blocks_quoted_target_is_a_path_inside_each_instance():
    plan = _load("", 'init { "conv2": ones, "downsample.1": zeros }').init
    assert [p for p, _ in plan.by_path] == ["layer1.0.conv2", "layer1.1.conv2", "layer2.0.conv2",
                                            "layer2.0.downsample.1"]  # only layer2.0 projects
    # The network's path rule and the block's both name layer1.0.conv2: the block's (inner) wins.
    plan = _load('init { "layer1.0.conv2": zeros }', 'init { "conv2": ones }').init
    assert dict(plan.by_path)["layer1.0.conv2"].weight == Initialiser("ones")


def test_a_quoted_target_is_a_kind_word_no_more():
    # `"fc"` is the layer labelled fc (the head's), `fc` every fully connected layer.
    plan = _load('init { fc: ones\n "fc": zeros }').init
    assert dict(plan.by_type)["Linear"].weight == Initialiser("ones")
    assert dict(plan.by_path)["fc"].weight == Initialiser("zeros")


@pytest.mark.parametrize("rule, message, hint", [
    ('"fcc": zeros', '"fcc" names no layer of this network', "did you mean 'fc'?"),
    ('"layer1.0": zeros', '"layer1.0" names a scope of this network, not a layer', '"layer1.0.bn1"'),
    ('"fc.weight": zeros', '"fc.weight" names no layer', 'did you mean "fc"?'),
    ('"layer1..conv1": zeros', "is not a module path", '"classifier.1"'),
    ('"fc": zeros, "fc": ones', "'fc' is given twice", None),
])
def test_a_quoted_target_that_names_no_layer_is_a_located_error(rule, message, hint):
    with pytest.raises(ResdslError) as err:
        _load(f"init {{ {rule} }}")
    assert message in err.value.message
    assert err.value.span.line == 11 and err.value.span.column > 1
    if hint is not None:
        assert hint in (err.value.hint or "")


def test_a_blocks_quoted_target_must_name_a_layer_of_some_instance():
    with pytest.raises(ResdslError) as err:
        _load("", 'init { "conv3": zeros }')
    assert '"conv3" names no layer of an instance of block unit' in err.value.message
    assert err.value.span.line == 3 and "'conv2'" in err.value.hint


def test_a_quoted_target_in_an_untaken_branch_names_nothing_and_is_not_checked():
    text = BASE.format(net_init='if zero { init { "nothing.here": zeros } }', block_init="")
    assert resdsl.load(text).init.empty
