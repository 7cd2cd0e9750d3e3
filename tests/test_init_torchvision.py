"""Initialisation as torchvision does it: under the same `torch.manual_seed`, `resdsl.build` of a spec
gives exactly the `state_dict` torchvision's constructor gives (the same draws in the same order)."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import resdsl  # noqa: E402
from oracles import SPECS  # noqa: E402

# spec, torchvision constructor and its arguments, spec overrides
CASES = [
    ("resnet50", "resnet50", {}, {}),
    ("resnet50", "resnet50", {"zero_init_residual": True}, {"zero_init_residual": True}),
    ("resnet18", "resnet18", {"zero_init_residual": True}, {"zero_init_residual": True}),
    ("densenet121", "densenet121", {}, {}),
    ("googlenet", "googlenet", {"aux_logits": False, "init_weights": True}, {}),
    # the heads read inception4a / 4d but are registered after inception5b, as torchvision's
    ("googlenet", "googlenet", {"aux_logits": True, "init_weights": True}, {"aux_logits": True}),
    ("vgg16", "vgg16", {}, {}),  # 138M draws, twice: the slowest case (~8 s)
    ("mobilenet_v2", "mobilenet_v2", {}, {}),
    ("mobilenet_v3_large", "mobilenet_v3_large", {}, {}),
    ("efficientnet_b0", "efficientnet_b0", {}, {}),
    ("efficientnet_v2_s", "efficientnet_v2_s", {}, {}),
    ("convnext_tiny", "convnext_tiny", {}, {}),
    ("regnet_y_400mf", "regnet_y_400mf", {}, {}),
    ("mnasnet1_0", "mnasnet1_0", {}, {}),
    # the final conv alone from normal(0, 0.01): a path rule ("classifier.1")
    ("squeezenet1_0", "squeezenet1_0", {}, {}),
    ("squeezenet1_1", "squeezenet1_1", {}, {}),
    # trunc_normal(std=0.1) everywhere but AuxLogits.fc (0.001): a path rule in the aux block
    ("inception_v3", "inception_v3", {"aux_logits": True, "init_weights": True}, {}),
    ("inception_v3", "inception_v3", {"aux_logits": False, "init_weights": True}, {"aux_logits": False}),
]


def _initial(ctor, seed: int = 0):
    torch.manual_seed(seed)
    with torch.no_grad():
        return ctor().state_dict()


@pytest.mark.parametrize("spec, name, tv_args, overrides", CASES)
def test_build_starts_from_torchvisions_tensors(torchvision_models, spec, name, tv_args, overrides):
    torch.set_num_threads(1)
    net = resdsl.load(SPECS / "torchvision" / f"{spec}.res", **overrides)
    ours = _initial(lambda: resdsl.build(net))
    theirs = _initial(lambda: getattr(torchvision_models, name)(**tv_args))
    assert list(ours) == list(theirs)
    differ = [k for k in ours if not torch.equal(ours[k], theirs[k])]
    assert differ == []
    if spec.startswith("squeezenet"):  # the path rule took effect: std 0.01, not He's
        assert abs(float(ours["classifier.1.weight"].std()) / 0.01 - 1) < 0.05
        assert float(ours["features.0.bias"].abs().sum()) == 0.0
    if spec == "inception_v3" and tv_args["aux_logits"]:
        assert abs(float(ours["AuxLogits.fc.weight"].std()) / 0.001 - 1) < 0.05
        # torchvision's conv1.stddev = 0.01 sits on the BasicConv2d, which its init loop never reads
        assert abs(float(ours["AuxLogits.conv1.conv.weight"].std()) / 0.1 - 1) < 0.05
    if overrides.get("zero_init_residual"):
        last = "bn3" if spec == "resnet50" else "bn2"
        assert float(ours[f"layer1.0.{last}.weight"].abs().sum()) == 0.0


def test_a_different_seed_gives_different_tensors():
    net = resdsl.load(SPECS / "torchvision" / "resnet18.res")
    a, b = _initial(lambda: resdsl.build(net), 0), _initial(lambda: resdsl.build(net), 1)
    assert not torch.equal(a["conv1.weight"], b["conv1.weight"])


def test_rules_set_what_they_say():
    text = ("network m { input 3x8x8\n init { conv: kaiming_normal(mode=fan_out, nonlinearity=relu, bias=0.5)\n"
            " bn: constant(2, bias=-1)\n fc: default(bias=0) }\n"
            " conv 3x3 64 bias=true, bn, relu, gap, fc 10 }")
    torch.manual_seed(0)
    model = resdsl.build(text)
    conv, bn, fc = (m for m in model.requires_grad_(False).modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.BatchNorm2d,
                                                                  torch.nn.Linear)))
    std = (2.0 / (64 * 9)) ** 0.5  # He: gain sqrt(2) over sqrt(fan_out)
    assert abs(float(conv.weight.std()) / std - 1) < 0.05
    assert torch.all(conv.bias == 0.5) and torch.all(bn.weight == 2) and torch.all(bn.bias == -1)
    assert torch.all(fc.bias == 0) and float(fc.weight.abs().max()) <= 1 / 64 ** 0.5  # torch's default bound


@pytest.mark.parametrize("spec, overrides", [("resnet18", {"zero_init_residual": True}), ("googlenet", {}),
                                             ("densenet121", {}), ("squeezenet1_1", {}), ("inception_v3", {}),
                                             ("googlenet", {"aux_logits": True})])
def test_generated_code_starts_from_the_same_tensors_as_build(spec, overrides):
    from resdsl.backends import pycode

    net = resdsl.load(SPECS / "torchvision" / f"{spec}.res", **overrides)
    source = pycode.generate(net)
    assert "init_weights(self, INIT_BY_TYPE, INIT_BY_PATH)" in source
    ours = _initial(lambda: resdsl.build(net))
    generated = _initial(pycode.load_source(source))
    assert list(ours) == list(generated)
    assert all(torch.equal(ours[k], generated[k]) for k in ours)


def test_a_spec_without_rules_generates_no_init_code():
    from resdsl.backends import pycode

    assert "init_weights" not in pycode.generate(resdsl.load(SPECS / "torchvision" / "alexnet.res"))


@pytest.mark.parametrize("spec, overrides", [("resnet18", {"zero_init_residual": True}), ("squeezenet1_1", {})])
def test_init_by_path_holds_for_the_members_the_generated_class_builds(spec, overrides):
    # The generated class takes num_classes, which changes no module path: its INIT_BY_PATH (the residual
    # BNs, SqueezeNet's "classifier.1") is right for classes=10 too, as resdsl.build of that member.
    from resdsl.backends import pycode

    net = resdsl.load(SPECS / "torchvision" / f"{spec}.res", **overrides)
    assert net.init.by_path
    cls = pycode.load_source(pycode.generate(net))
    ours = _initial(lambda: resdsl.build(resdsl.load(SPECS / "torchvision" / f"{spec}.res", classes=10,
                                                     **overrides)))
    generated = _initial(lambda: cls(num_classes=10))
    assert list(ours) == list(generated) and ours["fc.weight" if spec == "resnet18" else "classifier.1.weight"].shape[0] == 10
    assert all(torch.equal(ours[k], generated[k]) for k in ours)
