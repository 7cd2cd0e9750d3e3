"""ENet (Paszke et al. 2016) as specs/paper/enet.res: the layers of the paper's Table 1, with the details
of the authors' released Torch7 code, and max-unpooling with the encoder pools' indices."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

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
