"""MobileNetV2 and ShuffleNetV2 x1.0 written in the language equal torchvision's models: torchvision's
state_dict loads strictly into resdsl.build, and the eval logits agree with BN statistics that push
activations well past 6 (so relu6 against relu would show)."""
from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import resdsl  # noqa: E402

pytestmark = pytest.mark.torch
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def models():
    sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
    return pytest.importorskip("torchvision.models", reason="torchvision is not installed")


def _randomise(model: torch.nn.Module, seed: int) -> None:
    """Random weights and BN statistics; BN shifts large enough that many activations exceed 6."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.copy_(torch.rand(m.num_features, generator=g) * 2 + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 3)
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)


def _above_six(model: torch.nn.Module, x: torch.Tensor, cls: type) -> float:
    """The fraction of pre-activation values above 6 at every `cls` module."""
    seen = []
    hooks = [m.register_forward_pre_hook(lambda _m, args: seen.append((args[0] > 6).float().mean().item()))
             for m in model.modules() if isinstance(m, cls)]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return sum(seen) / len(seen)


@pytest.mark.parametrize("name, spec, activation", [
    ("mobilenet_v2", "specs/examples/mobilenet_v2.res", "ReLU6"),
    ("shufflenet_v2_x1_0", "specs/examples/shufflenet_v2_x1_0.res", "ReLU"),
])
def test_equals_torchvision(models, name, spec, activation):
    torch.manual_seed(0)
    reference = getattr(models, name)(weights=None).eval()
    _randomise(reference, seed=1)
    net = resdsl.load(ROOT / spec, res=64)
    assert net.params == sum(p.numel() for p in reference.parameters())
    ours = resdsl.build(net).eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, 3, 64, 64)
    if activation == "ReLU6":
        assert _above_six(reference, x, torch.nn.ReLU6) > 0.1  # the inputs exercise the clipping
    with torch.no_grad():
        expected, actual = reference(x), ours(x)
    scale = expected.abs().max().item()
    assert scale > 1
    assert torch.allclose(actual, expected, rtol=1e-5, atol=1e-5 * scale), (actual - expected).abs().max()


def test_relu_instead_of_relu6_would_differ(models):
    """The oracle is sharp: the same spec with relu for relu6 does not pass it."""
    torch.manual_seed(0)
    reference = models.mobilenet_v2(weights=None).eval()
    _randomise(reference, seed=1)
    text = (ROOT / "specs/examples/mobilenet_v2.res").read_text().replace("  relu6\n", "  relu\n")
    ours = resdsl.build(resdsl.load(text, res=64)).eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert not torch.allclose(ours(x), reference(x), rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("name, spec", [("mobilenet_v2", "specs/examples/mobilenet_v2.res"),
                                        ("shufflenet_v2_x1_0", "specs/examples/shufflenet_v2_x1_0.res")])
def test_equal_by_the_shared_oracle(name, spec):
    """The same equality through tests/oracles.py (counts, MACs against FlopCounterMode at 224x224,
    strict load, logits, saturation of every clipping activation)."""
    from oracles import assert_equal_to_reference, torchvision_models

    models = torchvision_models()
    net = resdsl.load(ROOT / spec)
    assert_equal_to_reference(net, lambda: getattr(models, name)(weights=None), (3, 64, 64))
