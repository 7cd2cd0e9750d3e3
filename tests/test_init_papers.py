"""The CIFAR and paper families start as their authors' released code does (cited in each spec's
comment and in docs/compile.md).  There is no oracle to compare tensors with (Lua Torch and Caffe), so
these tests check the distribution facts: every big conv's and fc's std against the rule's formula, the
bounds of uniform draws, and the constants (BN weights 1 or uniform on [0, 1), biases 0)."""
from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

import resdsl  # noqa: E402
from oracles import SPECS  # noqa: E402

BIG = 20_000  # elements: a std estimated from this many draws is within ~0.5% (we allow 5%)

# spec (and overrides) -> (conv rule, bn rule, fc rule), as in the authors' code:
#   he_out  normal(0, sqrt(2 / (k*k*out)))       fb.resnet.torch's ConvInit and its copies
#   he_in   normal(0, sqrt(2 / (k*k*in/groups))) nninit.kaiming (Stochastic Depth)
#   caffe   uniform(+-sqrt(3 / fan_in))          Caffe's xavier filler (FractalNet)
#   ones    weight 1, bias 0;  unit  weight uniform on [0, 1), bias 0 (Torch7's BN reset())
#   torch0  Torch7's / PyTorch's default weight, uniform(+-1 / sqrt(fan_in)), bias 0;  torch  both default
CASES = [
    ("cifar/resnet20.res", {}, ("he_out", "ones", "torch0")),
    ("cifar/resnet20.res", {"shortcut": "B"}, ("he_out", "ones", "torch0")),
    ("cifar/preact_resnet110.res", {}, ("he_out", "ones", "torch0")),
    ("cifar/densenet40_k12.res", {}, ("he_out", "ones", "torch0")),
    ("cifar/resnext29_8x64d.res", {"cardinality": 4, "d": 8}, ("he_out", "ones", "torch0")),
    ("cifar/wrn16_4.res", {}, ("he_out", "unit", "torch0")),
    ("cifar/resnet110_stochastic_depth.res", {"depth": 20}, ("he_in", "unit", "torch")),
    ("cifar/fractalnet20.res", {"columns": 2}, ("caffe", "ones", "caffe")),
    ("paper/resnet18.res", {}, ("he_out", "ones", "torch0")),
]


def _fans(w: torch.Tensor) -> tuple[int, int]:
    receptive = w[0, 0].numel() if w.dim() > 2 else 1
    return w.shape[1] * receptive, w.shape[0] * receptive


def _check_weight(name: str, w: torch.Tensor, rule: str) -> None:
    fan_in, fan_out = _fans(w)
    if rule in ("he_out", "he_in"):
        expected = math.sqrt(2 / (fan_out if rule == "he_out" else fan_in))
        if w.numel() >= BIG:
            assert abs(float(w.std()) / expected - 1) < 0.05, (name, float(w.std()), expected)
    else:  # uniform on +-bound
        bound = math.sqrt(3 / fan_in) if rule == "caffe" else 1 / math.sqrt(fan_in)
        assert float(w.abs().max()) <= bound * (1 + 1e-6), name
        if w.numel() >= BIG:
            assert abs(float(w.std()) / (bound / math.sqrt(3)) - 1) < 0.05, (name, float(w.std()))


@pytest.mark.parametrize("path, overrides, rules", CASES)
def test_a_family_starts_as_its_authors_code(path, overrides, rules):
    conv_rule, bn_rule, fc_rule = rules
    torch.manual_seed(0)
    model = resdsl.build(resdsl.load(SPECS / path, **overrides))
    checked = {"conv": 0, "big conv": 0, "bn": 0, "fc": 0}
    bn_weights = []
    for name, m in model.named_modules():
        if isinstance(m, torch.nn.Conv2d):
            _check_weight(name, m.weight, conv_rule)
            checked["conv"] += 1
            checked["big conv"] += m.weight.numel() >= BIG
            if m.bias is not None:
                assert float(m.bias.abs().max()) == 0.0, name
        elif isinstance(m, torch.nn.BatchNorm2d):
            assert float(m.bias.abs().max()) == 0.0, name
            if bn_rule == "ones":
                assert bool(torch.all(m.weight == 1)), name
            bn_weights.append(m.weight.detach().flatten())
            checked["bn"] += 1
        elif isinstance(m, torch.nn.Linear):
            _check_weight(name, m.weight, "torch" if fc_rule.startswith("torch") else fc_rule)
            if fc_rule != "torch":
                assert float(m.bias.abs().max()) == 0.0, name
            else:  # PyTorch's (and Torch7's) default bias: uniform(+-1 / sqrt(fan_in)), not zero
                assert float(m.bias.abs().max()) > 0.0
            checked["fc"] += 1
    assert checked["big conv"] > 0 and checked["bn"] > 0 and checked["fc"] == 1, checked
    if bn_rule == "unit":
        weights = torch.cat(bn_weights)
        assert float(weights.min()) >= 0.0 and float(weights.max()) < 1.0
        assert abs(float(weights.mean()) - 0.5) < 0.05 and weights.numel() > 500


def test_the_two_he_rules_are_told_apart():
    # The checks above could not pass for the wrong fan: at a stage transition fan_out = 2 fan_in.
    torch.manual_seed(0)
    model = resdsl.build(resdsl.load(SPECS / "cifar/resnet110_stochastic_depth.res", depth=20))
    w = dict(model.named_parameters())["layer3.0.conv1.weight"]  # 32 -> 64 channels
    fan_in, fan_out = _fans(w)
    assert fan_out == 2 * fan_in
    assert abs(float(w.std()) / math.sqrt(2 / fan_in) - 1) < 0.05
    assert abs(float(w.std()) / math.sqrt(2 / fan_out) - 1) > 0.3


def test_alexnet_starts_as_the_paper_says():
    # Sec. 5: every weight from N(0, 0.01); biases 1 in conv2, conv4, conv5, fc6, fc7, else 0.
    torch.manual_seed(0)
    params = dict(resdsl.build(resdsl.load(SPECS / "paper/alexnet.res")).named_parameters())
    ones = {"features.conv2", "features.conv4", "features.conv5", "classifier.fc6", "classifier.fc7"}
    layers = sorted(k[:-len(".weight")] for k in params if k.endswith(".weight"))
    assert len(layers) == 8 and ones < set(layers)
    for layer in layers:
        w, b = params[layer + ".weight"], params[layer + ".bias"]
        if w.numel() >= BIG:
            assert abs(float(w.std()) / 0.01 - 1) < 0.05, layer
        assert bool(torch.all(b == (1.0 if layer in ones else 0.0))), layer
