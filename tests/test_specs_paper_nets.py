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


# ---- BN-NIN and BN-AlexNet (Canziani et al. 2017's Torch7 models) --------------------------------

def lua_ninbn():
    """soumith/imagenet-multiGPU.torch models/ninbn.lua, transcribed layer for layer."""
    from torch import nn
    layers = []

    def block(cin, cout, k, s, p):
        for i, (a, kk, ss, pp) in enumerate([(cin, k, s, p), (cout, 1, 1, 0), (cout, 1, 1, 0)]):
            layers.extend([nn.Conv2d(a, cout, kk, ss, pp), nn.BatchNorm2d(cout, eps=1e-3), nn.ReLU()])

    block(3, 96, 11, 4, 5); layers.append(nn.MaxPool2d(3, 2, 1))
    block(96, 256, 5, 1, 2); layers.append(nn.MaxPool2d(3, 2, 1))
    block(256, 384, 3, 1, 1); layers.append(nn.MaxPool2d(3, 2, 1))
    block(384, 1024, 3, 1, 1)
    layers += [nn.AvgPool2d(7, 1), nn.Flatten(), nn.Linear(1024, 1000)]
    return nn.Sequential(*layers)


def lua_alexnetowtbn():
    """soumith/imagenet-multiGPU.torch models/alexnetowtbn.lua, transcribed layer for layer."""
    from torch import nn
    f = []
    for cin, cout, k, s, p, pool in [(3, 64, 11, 4, 2, True), (64, 192, 5, 1, 2, True), (192, 384, 3, 1, 1, False),
                                     (384, 256, 3, 1, 1, False), (256, 256, 3, 1, 1, True)]:
        f += [nn.Conv2d(cin, cout, k, s, p), nn.BatchNorm2d(cout, eps=1e-3), nn.ReLU()]
        if pool:
            f.append(nn.MaxPool2d(3, 2))
    c = [nn.Flatten(), nn.Dropout(0.5), nn.Linear(9216, 4096), nn.BatchNorm1d(4096, eps=1e-3), nn.ReLU(),
         nn.Dropout(0.5), nn.Linear(4096, 4096), nn.BatchNorm1d(4096, eps=1e-3), nn.ReLU(), nn.Linear(4096, 1000)]
    return nn.Sequential(*f, *c)


@pytest.mark.torch
@pytest.mark.parametrize("spec,reference", [("paper/bn_nin.res", lua_ninbn), ("paper/bn_alexnet.res", lua_alexnetowtbn)])
def test_canziani_torch7_models_equal_their_lua_listing(spec, reference):
    torch = pytest.importorskip("torch")
    from resdsl.backends.torch import build_module, count_flops
    torch.manual_seed(0)
    ref = reference().eval()
    g = torch.Generator().manual_seed(0)
    for m in ref.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.5)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.5)
    net = load(spec)
    ours = build_module(net).eval()
    theirs = list(ref.state_dict().values())
    mine = ours.state_dict()
    assert [tuple(v.shape) for v in mine.values()] == [tuple(v.shape) for v in theirs]
    ours.load_state_dict(dict(zip(mine, theirs)), strict=True)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        x = torch.randn(2, 3, 224, 224, generator=g)
        with torch.no_grad():
            torch.testing.assert_close(ours(x), ref(x), rtol=0, atol=1e-5)
        assert count_flops(ours, x[:1]) == count_flops(ref, x[:1]) == net.flops
    finally:
        torch.set_num_threads(threads)
    assert net.params == sum(p.numel() for p in ref.parameters())


# ---- AlexNet as published (Krizhevsky et al. 2012) -------------------------------------------------

def paper_alexnet():
    """Sec. 3 / Fig. 2 of the paper in torch.nn: the two GPUs' halves as groups=2 where a layer sees only
    its own GPU's maps; the paper's LRN (alpha 1e-4 on the plain sum, so 5e-4 in torch's alpha / n)."""
    from torch import nn
    lrn = lambda: nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)  # noqa: E731
    return nn.Sequential(
        nn.Conv2d(3, 96, 11, 4), nn.ReLU(), lrn(), nn.MaxPool2d(3, 2),
        nn.Conv2d(96, 256, 5, padding=2, groups=2), nn.ReLU(), lrn(), nn.MaxPool2d(3, 2),
        nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 384, 3, padding=1, groups=2), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1, groups=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Flatten(), nn.Dropout(), nn.Linear(9216, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 4096),
        nn.ReLU(), nn.Linear(4096, 1000))


def test_alexnet_as_published():
    net = load("paper/alexnet.res")
    assert net.params == 60_965_224                       # "60 million parameters"
    assert [n.op.groups for n in convs(net)] == [1, 2, 1, 2, 2]
    lrns = [n for n in net.graph.nodes if isinstance(n.op, ops.LocalResponseNorm)]
    assert [(n.op.size, n.op.alpha, n.op.beta, n.op.k) for n in lrns] == [(5, 5e-4, 0.75, 2.0)] * 2
    assert node(net, "features.pool5").type.shape == (256, 6, 6)


@pytest.mark.torch
def test_alexnet_equals_the_papers_layers():
    torch = pytest.importorskip("torch")
    from resdsl.backends.torch import build_module, count_flops
    torch.manual_seed(0)
    ref = paper_alexnet().eval()
    net = load("paper/alexnet.res")
    ours = build_module(net).eval()
    mine = ours.state_dict()
    theirs = list(ref.state_dict().values())
    assert [tuple(v.shape) for v in mine.values()] == [tuple(v.shape) for v in theirs]
    ours.load_state_dict(dict(zip(mine, theirs)), strict=True)
    x = torch.randn(1, 3, 227, 227, generator=torch.Generator().manual_seed(1)) * 20   # LRN well away from 1
    with torch.no_grad():
        torch.testing.assert_close(ours(x), ref(x), rtol=0, atol=1e-5)
    assert count_flops(ours, x) == count_flops(ref, x) == net.flops


# ---- FractalNet (Larsson et al. 2017) and its mean joins ---------------------------------------------

@pytest.mark.parametrize("name,columns,params", [("fractalnet20", 3, 33_724_618), ("fractalnet40", 4, 76_106_634)])
def test_fractalnet_structure(name, columns, params):
    net = load(f"cifar/{name}.res")
    assert net.params == params
    assert len(convs(net)) == 5 * (2 ** columns - 1)
    joins = [n for n in net.graph.nodes if isinstance(n.op, ops.Mean)]
    # joins per block: 2^(C-1) depths, those with more than one column: 1 (C=2), 2 (C=3), 4 (C=4)
    assert len(joins) == 5 * 2 ** (columns - 2)
    assert sorted({len(j.inputs) for j in joins}) == list(range(2, columns + 1))
    # the deepest path: 2^(C-1) convs per block
    assert net.graph.nodes[net.graph.output].type.shape == (10,)


def test_fractalnet_drop_path_is_join_level():
    plain, dropped = load("cifar/fractalnet20.res"), load("cifar/fractalnet20_droppath.res")
    assert plain.params == dropped.params
    assert {n.op.drop for n in dropped.graph.nodes if isinstance(n.op, ops.Mean)} == {0.15}
    assert {n.op.drop for n in plain.graph.nodes if isinstance(n.op, ops.Mean)} == {0.0}
    assert [n.op.p for n in dropped.graph.nodes if isinstance(n.op, ops.Dropout)][::7] == [0.1, 0.2, 0.3, 0.4]


def test_mean_drop_must_be_a_probability():
    with pytest.raises(resdsl.ResdslError, match=r"mean's drop .* got 1\b") as err:
        resdsl.load("network t {\n  input 3x8x8\n  mean drop=1 {\n    identity\n    conv 3x3 3\n  }\n}\n")
    assert ":3:" in str(err.value)


@pytest.mark.torch
def test_mean_join_against_torch():
    torch = pytest.importorskip("torch")
    from resdsl.backends.torch import build_module
    net = resdsl.load("network t {\n  input 4x6x6\n  mean drop=0.5 {\n    identity\n    { c1: conv 3x3 4 }\n"
                      "    { c2: conv 1x1 4 }\n  }\n}\n")
    model = build_module(net)
    x = torch.randn(2, 4, 6, 6)
    with torch.no_grad():
        a, b = model.get_submodule("c1")(x), model.get_submodule("c2")(x)
        means = [torch.stack(s).mean(0) for s in ([x], [a], [b], [x, a], [x, b], [a, b], [x, a, b])]
        assert torch.equal(model.eval()(x), means[-1])           # evaluation: every input
        model.train()
        torch.manual_seed(0)
        seen = set()
        for _ in range(40):                                      # training: a non-empty random subset
            y = model(x)
            hits = [i for i, m in enumerate(means) if torch.equal(y, m)]
            assert len(hits) == 1
            seen.add(hits[0])
        assert len(seen) >= 5                                    # subsets of one, two and three inputs
