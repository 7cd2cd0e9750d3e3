"""The seeds' remaining networks (specs/paper, specs/cifar): each has the structure and the counts its
header cites.  The comparisons with timm's model code are in test_timm_oracles.py."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

import resdsl
from resdsl.elaborate.values import Dims
from resdsl.ir import ops

SPECS = Path(__file__).resolve().parent.parent / "specs"


@lru_cache(maxsize=None)
def load(relpath: str, **overrides) -> resdsl.Network:
    return resdsl.load(str(SPECS / relpath), **overrides)


def convs(net: resdsl.Network) -> list:
    return [n for n in net.graph.nodes if isinstance(n.op, ops.Conv)]


def node(net: resdsl.Network, path: str):
    found = [n for n in net.graph.nodes if n.path == path]
    assert len(found) == 1, path
    return found[0]


# ---- ResNeXt-29 (Xie et al. 2017, Table 7) ------------------------------------------------------

@pytest.mark.parametrize("name,cardinality,params", [("resnext29_8x64d", 8, 34_426_698),
                                                      ("resnext29_16x64d", 16, 68_155_210)])
def test_resnext29(name, cardinality, params):
    net = load(f"cifar/{name}.res")
    assert net.params == params
    grouped = [n for n in convs(net) if n.op.groups > 1]
    assert len(grouped) == 9 and all(n.op.groups == cardinality for n in grouped)
    # cardinality x d channels in the first stage's grouped conv, doubling per stage
    assert [n.op.out_channels for n in grouped[::3]] == [cardinality * 64 * m for m in (1, 2, 4)]
    assert node(net, "layer2.0.conv2").op.stride == (2, 2)       # stride on the grouped 3x3
    assert node(net, "layer2.0.conv1").op.stride == (1, 1)
    assert net.output_type.shape == (10,)


# ---- All-CNN-C (Springenberg et al. 2015, Table 2) ----------------------------------------------

def test_allcnn_c_is_all_convolutional():
    net = load("cifar/allcnn_c.res")
    assert net.params == 1_369_738
    assert not any(isinstance(n.op, (ops.Pool, ops.Linear)) for n in net.graph.nodes)
    cs = convs(net)
    assert [c.op.out_channels for c in cs] == [96, 96, 96, 192, 192, 192, 192, 192, 10]
    assert [c.op.stride[0] for c in cs] == [1, 1, 2, 1, 1, 2, 1, 1, 1]
    assert all(c.op.bias for c in cs)
    gap = next(n for n in net.graph.nodes if isinstance(n.op, ops.AdaptivePool))
    assert net.graph.nodes[gap.inputs[0]].type.shape == (10, 6, 6)      # global averaging over 6x6
    assert [n.op.p for n in net.graph.nodes if isinstance(n.op, ops.Dropout)] == [0.2, 0.5, 0.5]


# ---- pre-activation bottleneck: stride on the 3x3 (today's specs) or the 1x1 (the authors' code) ----

def test_preact_resnet164_both_stride_placements():
    on3 = load("cifar/preact_resnet164.res")
    on1 = load("cifar/preact_resnet164_stride_on_1x1.res")
    assert on3.params == on1.params == 1_703_258
    assert on3.macs == 247_646_720 and on1.macs == 244_500_992
    for stage in ("layer2", "layer3"):
        assert node(on1, f"{stage}.0.conv1").op.stride == (2, 2)
        assert node(on1, f"{stage}.0.conv2").op.stride == (1, 1)
        assert node(on3, f"{stage}.0.conv1").op.stride == (1, 1)
        assert node(on3, f"{stage}.0.conv2").op.stride == (2, 2)


def test_preact_stride_on_is_a_family_parameter():
    net = load("cifar/preact_resnet1001.res", stride_on=Dims((1, 1)))
    assert net.params == 10_327_706
    assert net.macs < load("cifar/preact_resnet1001.res").macs


# ---- Inception-v4 (Szegedy et al. 2017) ---------------------------------------------------------

def test_inception_v4_structure():
    net = load("paper/inception_v4.res")
    assert net.params == 42_679_816
    assert net.macs == 12_253_974_624
    blocks = {n.path.split(".")[1] for n in net.graph.nodes if n.path.startswith("features.")}
    assert blocks == {str(i) for i in range(22)}
    assert node(net, "features.21.branch2_3b.conv").op.kernel == (3, 1)


def test_inception_v4_smallest_input():
    assert load("paper/families/inception_v4.res", resolution=75).output_type.shape == (1000,)
    with pytest.raises(resdsl.ResdslError, match="0x0 output"):
        load("paper/families/inception_v4.res", resolution=74)
