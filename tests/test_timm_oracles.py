"""Inception-v4 and Inception-ResNet-v2 against timm's own model code (a test-only oracle): the same
parameters, buffers, state_dict layout (timm's checkpoints load with strict=True), MACs counted by
FlopCounterMode / 2, and eval logits within 1e-5 with timm's weights copied in and BN statistics and
affines randomised.  Logits are compared at the smallest input both nets accept (3x75x75) to keep
CI fast; counts at the nominal 299x299 on the meta device."""
from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import resdsl  # noqa: E402
from resdsl.backends.torch import build_module, count_flops  # noqa: E402

pytestmark = pytest.mark.torch

SPECS = Path(__file__).resolve().parent.parent / "specs"
NETS = {"inception_v4": "paper/inception_v4.res"}
FAMILIES = {"inception_v4": "paper/families/inception_v4.res"}
SMALLEST = 75


@pytest.fixture(scope="module")
def timm():
    # timm imports torchvision, whose compiled ops do not load against this CPU torch; its Python
    # model code is all timm needs, once torchvision._meta_registrations is kept from loading.
    sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
    module = pytest.importorskip("timm", reason="timm is the oracle for these nets")
    # One intra-op thread: on a shared 2-core machine more threads make these forwards 30x slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield module
    torch.set_num_threads(threads)


def randomise_bn(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.5)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) * 2 + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.5)


@pytest.mark.parametrize("name", sorted(NETS))
def test_counts_and_layout_equal_timm_at_299(timm, name):
    net = resdsl.load(str(SPECS / NETS[name]))
    with torch.device("meta"):
        ref = timm.create_model(name, pretrained=False).eval()
        ours = build_module(net).eval()
        x = torch.empty(1, 3, 299, 299)
        ref_flops, our_flops = count_flops(ref, x), count_flops(ours, x)
    assert net.params == sum(p.numel() for p in ref.parameters())
    assert net.totals.buffers == sum(b.numel() for b in ref.buffers())
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
           [(k, tuple(v.shape)) for k, v in ref.state_dict().items()]
    assert our_flops == ref_flops == net.flops
    assert net.macs == ref_flops // 2


@pytest.mark.parametrize("name", sorted(NETS))
def test_logits_equal_timm_with_its_weights(timm, name):
    torch.manual_seed(0)
    ref = timm.create_model(name, pretrained=False).eval()
    randomise_bn(ref)
    net = resdsl.load(str(SPECS / FAMILIES[name]), resolution=SMALLEST)
    with torch.device("meta"):
        ours = build_module(net).eval()
    ours.load_state_dict(ref.state_dict(), strict=True, assign=True)   # assign: no init of our own
    x = torch.randn(2, 3, SMALLEST, SMALLEST, generator=torch.Generator().manual_seed(1)) * 2
    with torch.no_grad():
        expected, got = ref(x), ours(x)
    assert got.shape == expected.shape == (2, 1000)
    assert expected.abs().max() > 0.1          # not a degenerate all-zero comparison
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)
    assert count_flops(ours, x[:1]) == count_flops(ref, x[:1]) == net.flops
