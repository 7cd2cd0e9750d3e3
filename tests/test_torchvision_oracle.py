"""Every spec in specs/torchvision/ against torchvision's own model code (the oracle, see oracles.py):
params, buffers and MACs equal, torchvision's state_dict loads strictly, logits within 1e-5.

Counts are taken at the spec's own input size (on the meta device).  Logits are compared on a 3x64x64
input unless a case says otherwise: every net here is convolutional up to a global (or adaptive) pool,
so a smaller map runs the same graph, and at 64x64 the last stage of a stride-32 net still sees a 2x2
map, so every tap of its 3x3 kernels meets the input."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from oracles import SPECS, assert_equal_to_reference, compare, spec

pytestmark = pytest.mark.torch

SMALL = (3, 64, 64)


@dataclass(frozen=True)
class Case:
    builder: str                                     # torchvision.models.<builder>(**kwargs)
    kwargs: dict[str, Any] = field(default_factory=dict)
    logits_input: tuple[int, ...] = SMALL
    overrides: dict[str, Any] = field(default_factory=dict)   # the spec's parameters

    def factory(self, models):
        return lambda: getattr(models, self.builder)(**self.kwargs)


def plain(names: str) -> dict[str, Case]:
    return {name: Case(name) for name in names.split()}


CASES: dict[str, Case] = {
    **plain("resnet18 resnet34 resnet50 resnet101 resnet152 resnext50_32x4d resnext101_32x8d resnext101_64x4d "
            "wide_resnet50_2 wide_resnet101_2 densenet121 densenet161 densenet169 densenet201 "
            "vgg11 vgg13 vgg16 vgg19 vgg11_bn vgg13_bn vgg16_bn vgg19_bn alexnet squeezenet1_0 squeezenet1_1 "
            "mnasnet0_5 mnasnet0_75 mnasnet1_0 mnasnet1_3"),
    # torchvision's googlenet() has the auxiliary heads unless told; the spec is the pretrained layout.
    "googlenet": Case("googlenet", {"aux_logits": False, "init_weights": True}),
    # 107x107 is the least input whose last inception modules (Mixed_7b/7c) still see a 2x2 map.
    "inception_v3": Case("inception_v3", {"aux_logits": False, "init_weights": True}, (3, 107, 107)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_spec_equals_torchvision(name, torchvision_models):
    case = CASES[name]
    assert_equal_to_reference(spec(f"torchvision/{name}.res", **case.overrides), case.factory(torchvision_models),
                              case.logits_input)


def test_every_torchvision_spec_has_an_oracle_case():
    shipped = {p.stem for p in (SPECS / "torchvision").glob("*.res")}
    assert shipped == {name for name in CASES if not CASES[name].overrides}


# ---- the oracle can fail ---------------------------------------------------------------------------


def test_oracle_tells_relu6_from_relu(torchvision_models):
    """With the randomised statistics, a ResNet-18 whose ReLUs clip at 6 gives other logits."""
    from torch import nn

    def clipped():
        model = torchvision_models.resnet18()
        for module in model.modules():
            for name, child in module.named_children():
                if isinstance(child, nn.ReLU):
                    setattr(module, name, nn.ReLU6(inplace=True))
        return model

    c = compare(spec("torchvision/resnet18.res"), clipped, SMALL)
    assert c.ours == c.theirs
    assert not c.logits_agree
    assert c.saturations["ReLU6"][1] > 6


def test_oracle_refuses_another_layout(torchvision_models):
    with pytest.raises(RuntimeError, match=r"Unexpected key\(s\) in state_dict: \"layer1.2.conv1.weight"):
        compare(spec("torchvision/resnet18.res"), torchvision_models.resnet34, SMALL)
