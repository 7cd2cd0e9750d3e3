"""ENet (Paszke et al. 2016) as specs/paper/enet.res: the layers of the paper's Table 1, with the details
of the authors' released Torch7 code, and max-unpooling with the encoder pools' indices."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

import resdsl
from resdsl.ir import ops

SPEC = Path(__file__).resolve().parent.parent / "specs" / "paper" / "enet.res"


@lru_cache(maxsize=None)
def load(**overrides) -> resdsl.Network:
    return resdsl.load(str(SPEC), **overrides)


def by_path(net, path: str):
    (node,) = [n for n in net.graph.nodes if n.path == path]
    return node


def test_counts_and_shapes():
    net = load()
    assert net.params == 364_311          # 0.36M; Table 3 prints 0.37M (see specs/tables/enet_table3.res)
    assert net.input_type.shape == (3, 512, 512)
    assert net.output_type.shape == (19, 512, 512)
    assert load(classes=20).params == 364_311 + 16 * 4 + 1   # the full conv's 2x2 filters and bias
    assert load(height=360, width=640).macs == 1_723_564_800


def test_the_figures_enet_table3_gives_for_not_claiming_table3():
    """specs/tables/enet_table3.res explains 3.83 GFLOPs is not reached even with every element op."""
    net = load(height=360, width=640)
    element_ops = sum(count for _, count in net.totals.by_kind)
    assert element_ops == 74_188_800
    assert round((net.flops + element_ops) / 1e9, 2) == 3.52
    encoder_classifier = 128 * 19 + 19   # the 1x1 classifier of the encoder-first training stage
    assert net.params + encoder_classifier == 366_762
    # The indices bottleneck1_0's and bottleneck2_0's pools keep for the decoder's unpools (int64):
    # 16x90x160 and 64x45x80 outputs.
    assert net.memory.index_elements == 16 * 90 * 160 + 64 * 45 * 80


def test_table1_resolutions_and_widths():
    net = load()
    expected = {"initial": (16, 256, 256), "bottleneck1_0": (64, 128, 128), "bottleneck1_4": (64, 128, 128),
                "bottleneck2_0": (128, 64, 64), "bottleneck3_8": (128, 64, 64),
                "bottleneck4_0": (64, 128, 128), "bottleneck4_2": (64, 128, 128),
                "bottleneck5_0": (16, 256, 256), "bottleneck5_1": (16, 256, 256)}
    outputs = {n.stage: n.type.shape for n in net.graph.nodes[1:]}   # the last node of each stage
    assert {k: outputs[k] for k in expected} == expected
    assert len([s for s in outputs if s.startswith("bottleneck")]) == 5 + 9 + 8 + 3 + 2


def test_stage2_and_3_convs_are_regular_dilated_and_asymmetric():
    net = load()
    for s in (2, 3):
        kinds = []
        for i in range(1, 9):
            convs = [n.op for n in net.graph.nodes if isinstance(n.op, ops.Conv)
                     and n.path.startswith(f"bottleneck{s}_{i}.ext.") and n.op.kernel != (1, 1)]
            kinds.append(tuple((c.kernel, c.dilation[0]) for c in convs))
        assert kinds == [((((3, 3)), 1),), (((3, 3), 2),), (((1, 5), 1), ((5, 1), 1)), (((3, 3), 4),),
                         (((3, 3), 1),), (((3, 3), 8),), (((1, 5), 1), ((5, 1), 1)), (((3, 3), 16),)]
    asym = [n.op for n in net.graph.nodes if n.path.startswith("bottleneck2_3.ext.") and isinstance(n.op, ops.Conv)]
    assert [c.padding for c in asym] == [(0, 0), (0, 2), (2, 0), (0, 0)]
    assert [c.bias for c in asym] == [False, False, True, False]   # as the authors' code: bias on the 5x1 only


def test_decoder_unpools_with_the_encoder_pools_indices():
    net = load()
    unpools = [n for n in net.graph.nodes if isinstance(n.op, ops.MaxUnpool)]
    assert [n.path for n in unpools] == ["bottleneck4_0.main.unpool", "bottleneck5_0.main.unpool"]
    sources = [net.graph.nodes[n.inputs[1]].path for n in unpools]
    assert sources == ["bottleneck2_0.pool", "bottleneck1_0.pool"]
    assert net.graph.indexed_pools == {by_path(net, p).id for p in sources}
    assert [n.type.shape for n in unpools] == [(64, 128, 128), (16, 256, 256)]


def test_regularisers_and_activations():
    net = load()
    drops = [(n.stage, n.op.p) for n in net.graph.nodes if isinstance(n.op, ops.Dropout)]
    assert all(isinstance(n.op, ops.Dropout) and n.op.spatial for n in net.graph.nodes
               if isinstance(n.op, ops.Dropout))
    assert [p for s, p in drops if s.startswith("bottleneck1_")] == [0.01] * 5
    assert [p for s, p in drops if not s.startswith("bottleneck1_")] == [0.1] * 17
    encoder_acts = {type(n.op).__name__ for n in net.graph.nodes if n.stage.startswith(("bottleneck1", "bottleneck2"))
                    and n.op.role == "adjunct" and not isinstance(n.op, (ops.BatchNorm, ops.Dropout))}
    assert encoder_acts == {"PReLU"}
    decoder_acts = {n.op.function for n in net.graph.nodes if n.stage.startswith(("bottleneck4", "bottleneck5"))
                    and isinstance(n.op, ops.Activation)}
    assert decoder_acts == {"relu"}
    assert {n.op.eps for n in net.graph.nodes if isinstance(n.op, ops.BatchNorm)} == {1e-3}
    up = by_path(net, "bottleneck4_0.ext.3").op
    assert (up.kernel, up.stride, up.padding, up.output_padding, up.bias) == ((3, 3), (2, 2), (1, 1), (1, 1), True)


# ---- against an independent reference: ENet written out in plain torch --------------------------
# From the paper's Table 1 and Fig. 2 with the authors' Torch7 details (e-lab/ENet-training,
# train/models/encoder.lua and decoder.lua: BN eps 1e-3, bias only where those files keep it,
# SpatialDropout, PReLU in the encoder and ReLU in the decoder, a 3x3/2 full convolution with
# output padding 1 in the decoder's upsampling bottlenecks).  Written without reading the spec.


def _reference_enet(classes: int = 19):
    import torch
    from torch import nn

    def bn(c):
        return nn.BatchNorm2d(c, eps=1e-3)

    class Initial(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 13, 3, stride=2, padding=1, bias=True)
            self.pool = nn.MaxPool2d(2, 2)
            self.bn, self.act = bn(16), nn.PReLU(16)

        def forward(self, x):
            return self.act(self.bn(torch.cat([self.conv(x), self.pool(x)], 1)))

    class Down(nn.Module):
        def __init__(self, cin, cout, p):
            super().__init__()
            mid = cout // 4
            self.pool = nn.MaxPool2d(2, 2, return_indices=True)
            self.ext = nn.Sequential(nn.Conv2d(cin, mid, 2, 2, bias=False), bn(mid), nn.PReLU(mid),
                                     nn.Conv2d(mid, mid, 3, padding=1, bias=True), bn(mid), nn.PReLU(mid),
                                     nn.Conv2d(mid, cout, 1, bias=False), bn(cout), nn.Dropout2d(p))
            self.act, self.pad = nn.PReLU(cout), cout - cin

        def forward(self, x):
            main, indices = self.pool(x)
            main = torch.nn.functional.pad(main, (0, 0, 0, 0, 0, self.pad))
            return self.act(main + self.ext(x)), indices

    class Regular(nn.Module):
        def __init__(self, c, dilation=1, asymmetric=False, p=0.1):
            super().__init__()
            mid = c // 4
            if asymmetric:
                middle = [nn.Conv2d(mid, mid, (1, 5), padding=(0, 2), bias=False),
                          nn.Conv2d(mid, mid, (5, 1), padding=(2, 0), bias=True)]
            else:
                middle = [nn.Conv2d(mid, mid, 3, padding=dilation, dilation=dilation, bias=True)]
            self.ext = nn.Sequential(nn.Conv2d(c, mid, 1, bias=False), bn(mid), nn.PReLU(mid), *middle, bn(mid),
                                     nn.PReLU(mid), nn.Conv2d(mid, c, 1, bias=False), bn(c), nn.Dropout2d(p))
            self.act = nn.PReLU(c)

        def forward(self, x):
            return self.act(x + self.ext(x))

    class Up(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            mid = cout // 4
            self.main = nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), bn(cout))
            self.unpool = nn.MaxUnpool2d(2, 2)
            self.ext = nn.Sequential(nn.Conv2d(cin, mid, 1, bias=False), bn(mid), nn.ReLU(),
                                     nn.ConvTranspose2d(mid, mid, 3, 2, padding=1, output_padding=1, bias=True),
                                     bn(mid), nn.ReLU(), nn.Conv2d(mid, cout, 1, bias=False), bn(cout))

        def forward(self, x, indices, size):
            return torch.relu(self.unpool(self.main(x), indices, output_size=size) + self.ext(x))

    class Decoder(nn.Module):
        def __init__(self, c):
            super().__init__()
            mid = c // 4
            self.ext = nn.Sequential(nn.Conv2d(c, mid, 1, bias=False), bn(mid), nn.ReLU(),
                                     nn.Conv2d(mid, mid, 3, padding=1, bias=True), bn(mid), nn.ReLU(),
                                     nn.Conv2d(mid, c, 1, bias=False), bn(c))

        def forward(self, x):
            return torch.relu(x + self.ext(x))

    class ENet(nn.Module):
        def __init__(self):
            super().__init__()
            self.initial = Initial()
            self.down1 = Down(16, 64, 0.01)
            self.stage1 = nn.Sequential(*[Regular(64, p=0.01) for _ in range(4)])
            self.down2 = Down(64, 128, 0.1)
            section = [dict(), dict(dilation=2), dict(asymmetric=True), dict(dilation=4), dict(),
                       dict(dilation=8), dict(asymmetric=True), dict(dilation=16)]
            self.stage23 = nn.Sequential(*[Regular(128, **kw) for kw in section * 2])
            self.up4, self.stage4 = Up(128, 64), nn.Sequential(Decoder(64), Decoder(64))
            self.up5, self.stage5 = Up(64, 16), Decoder(16)
            self.fullconv = nn.ConvTranspose2d(16, classes, 2, 2, bias=True)

        def forward(self, x):
            x = self.initial(x)
            size1 = x.shape[2:]
            x, i1 = self.down1(x)
            x = self.stage1(x)
            size2 = x.shape[2:]
            x, i2 = self.down2(x)
            x = self.stage23(x)
            x = self.stage4(self.up4(x, i2, size2))
            x = self.stage5(self.up5(x, i1, size1))
            return self.fullconv(x)

    return ENet()


def _randomised_state(module, seed):
    import torch

    g = torch.Generator().manual_seed(seed)
    state = module.state_dict()
    for key, value in state.items():
        if value.is_floating_point():
            value.copy_(torch.rand(value.shape, generator=g) + 0.5 if key.endswith("running_var")
                        else torch.randn(value.shape, generator=g) * 0.5)
    return state


def test_enet_equals_the_reference_written_from_the_paper():
    torch = pytest.importorskip("torch")
    net = load(height=64, width=64)
    ours = resdsl.build(net)
    reference = _reference_enet()
    assert sum(p.numel() for p in reference.parameters()) == net.params == 364_311
    theirs = list(reference.state_dict().items())
    mine = list(ours.state_dict().items())
    # The same tensors in the same order (layer by layer as Table 1 lists them): copy by position.
    assert [tuple(v.shape) for _, v in theirs] == [tuple(v.shape) for _, v in mine]
    state = _randomised_state(reference, 11)
    ours.load_state_dict({k: v for (k, _), v in zip(mine, state.values())}, strict=True)
    ours.eval(), reference.eval()
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(4)) * 3
    with torch.no_grad():
        a, b = ours(x), reference(x)
    assert a.shape == b.shape == (2, 19, 64, 64)
    assert torch.allclose(a, b, rtol=1e-4, atol=1e-4), (a - b).abs().max()
    assert (a - b).abs().max() < 1e-3 * b.abs().max()
