"""Inception-v4 and Inception-ResNet-v2 against timm's own model code (a test-only oracle, see
oracles.py): equal parameters, buffers and MACs (FlopCounterMode / 2) at the nominal 3x299x299, timm's
state_dict loads with strict=True, and with timm's weights (norm affines and BN statistics randomised)
eval logits agree within 1e-5.  Logits are compared at 3x75x75, the smallest input both nets take (their
reductions are unpadded: 74 leaves Reduction-B a 2x2 map), to keep CI fast."""
from __future__ import annotations

import pytest

from oracles import assert_equal_to_reference, spec, torch

pytestmark = pytest.mark.torch

NETS = {"inception_v4": "paper/inception_v4.res", "inception_resnet_v2": "paper/inception_resnet_v2.res"}
SMALLEST = (3, 75, 75)


@pytest.fixture
def one_thread():
    # One intra-op thread: on a shared 2-core machine more threads make these forwards many times slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name", sorted(NETS))
def test_equal_to_timm(timm, one_thread, name):
    net = spec(NETS[name])
    assert net.input_type.shape == (3, 299, 299)
    c = assert_equal_to_reference(net, lambda: timm.create_model(name, pretrained=False), SMALLEST)
    assert c.scale > 0.1                          # not a degenerate all-zero comparison

