"""The IR analyses behind `resdsl draw`: skip kinds, blocks ("units"), ×N runs and BN/ReLU folding."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import resdsl
from resdsl.backends.graphviz_fold import fold_chains
from resdsl.backends.graphviz_skips import find_skips
from resdsl.backends.graphviz_units import find_runs, find_units
from resdsl.backends.graphviz_view import build_view
from resdsl.ir import ops

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


def kinds(network) -> Counter:
    return Counter(s.kind for s in find_skips(network.graph))


@pytest.mark.parametrize("spec, expected", [
    ("torchvision/resnet18.res", {"identity": 5, "projection": 3}),
    ("torchvision/resnet50.res", {"identity": 12, "projection": 4}),
    ("cifar/resnet20.res", {"identity": 7, "zeropad": 2}),
    ("torchvision/densenet121.res", {"dense": 58}),
    ("other/unet.res", {"bridge": 4}),
    ("torchvision/googlenet.res", {}),
])
def test_skip_kinds_of_shipped_specs(spec, expected):
    assert kinds(resdsl.load(SPECS / spec)) == Counter(expected)


def test_skip_paths_and_sources():
    network = resdsl.load(SPECS / "torchvision/resnet18.res")
    g = network.graph
    for skip in find_skips(g):
        merge = g.nodes[skip.merge]
        assert isinstance(merge.op, ops.Add)
        if skip.kind == "projection":
            assert [type(g.nodes[n].op) for n in skip.path] == [ops.Conv, ops.BatchNorm]
            assert all(".downsample." in g.nodes[n].path for n in skip.path)
            assert g.nodes[skip.path[0]].inputs == (skip.source,)
        else:
            assert skip.path == () and skip.source == merge.inputs[1]


def test_identity_written_first_or_second_is_found_either_way():
    text = """
    network n { input 16x8x8
      a: add { identity
               { conv 3x3 16, bn, relu, conv 3x3 16, bn } }
      b: add { { conv 3x3 16, bn, relu, conv 3x3 16, bn }
               identity }
      c: mul { { gap, conv(1x1, 4, bias=true), relu, conv(1x1, 16, bias=true), sigmoid }
               identity }
    }"""
    skips = find_skips(resdsl.load(text).graph)
    assert [s.kind for s in skips] == ["identity", "identity", "scale"]


def test_preactivation_projection_taps_the_activated_input():
    network = resdsl.load("""network p { input 3x32x32
        stem conv 3x3 16
        stages preact_bottleneck { layer1: 16 x2
                                   layer2: 32 x2 /2 } }""")
    g = network.graph
    projections = [s for s in find_skips(g) if s.kind == "projection"]
    assert projections
    for skip in projections:
        source = g.nodes[skip.source]
        assert isinstance(source.op, ops.Activation)  # relu1 of the block, not the raw input
        assert len(g.users[skip.source]) == 2


def test_highway_gate_and_carry():
    network = resdsl.load("""network h { input 3x16x16
        stem conv 3x3 8, relu
        layers: { highway(8), highway(8) } }""")
    g = network.graph
    skips = find_skips(g)
    assert [(s.kind, s.role) for s in skips] == [("gated", "carry"), ("gated", "gate")] * 2
    gate = skips[1]
    assert [type(g.nodes[n].op) for n in gate.path] == [ops.Conv, ops.Activation]
    assert gate.source == skips[0].source  # gate and carry start from the same x


def test_a_plain_network_has_no_skips():
    network = resdsl.load("""network p { input 3x32x32
        stem conv 3x3 16, bn, relu
        stages plain { layer1: 16 x3
                       layer2: 32 x3 /2 }
        head gap, fc 10 }""")
    assert find_skips(network.graph) == ()


def test_units_look_through_containers_and_groups():
    g = resdsl.load(SPECS / "torchvision/densenet121.res").graph
    units, index_of = find_units(g, find_skips(g))
    blocks = Counter(g.scopes[u.scope].block for u in units)
    assert blocks == Counter(dense_layer=58, transition=3)
    assert index_of[1] is None  # the stem conv belongs to no block
    assert all(u.merge is not None for u in units if g.scopes[u.scope].block == "dense_layer")


def test_inception_is_one_unit_despite_its_conv_bn_blocks():
    g = resdsl.load(SPECS / "torchvision/googlenet.res").graph
    units, _ = find_units(g, find_skips(g))
    blocks = Counter(g.scopes[u.scope].block for u in units)
    assert blocks == Counter(inception=9, conv_bn=3)


def test_runs_need_same_shapes_and_structure():
    g = resdsl.load(SPECS / "torchvision/resnet50.res").graph
    units, index_of = find_units(g, find_skips(g))
    runs = find_runs(g, units, index_of)
    assert [r.count for r in runs] == [1, 2, 1, 3, 1, 5, 1, 2]
    assert [r.count for r in find_runs(g, units, index_of, expand=True)] == [1] * 16


def test_stochastic_depth_blocks_still_collapse():
    spec = SPECS / "cifar/resnet110_stochastic_depth.res"
    if not spec.exists():
        pytest.skip("spec not written yet")
    view = build_view(resdsl.load(spec), "block")
    repeats = sorted(c.repeat for c in view.cells if c.repeat > 1)
    assert repeats == [17, 17, 18]


def test_folding_keeps_forks_and_merges_apart():
    g = resdsl.load(SPECS / "torchvision/resnet18.res").graph
    chains = fold_chains(g, range(len(g.nodes)))
    for chain in chains:
        inner = chain.nodes[:-1]
        assert all(len(g.users[n]) == 1 for n in inner), chain  # no fork inside a chain
        assert all(len(g.nodes[n].inputs) == 1 for n in chain.nodes[1:]), chain  # no merge joins one
    by_core = Counter(type(g.nodes[c.core].op).__name__ for c in chains)
    assert by_core["BatchNorm"] == 0 and by_core["Activation"] == 0


def test_folding_pre_activation_onto_the_conv_that_follows():
    g = resdsl.load("""network p { input 16x8x8
        x: { bn, relu, conv 3x3 16, bn, relu, conv 3x3 16 } }""").graph
    chains = fold_chains(g, range(1, len(g.nodes)))
    assert [[type(g.nodes[n].op).__name__ for n in c.nodes] for c in chains] == [
        ["BatchNorm", "Activation", "Conv"], ["BatchNorm", "Activation", "Conv"]]



_CELLS = """block cell(b) {
  residual {
    conv 3x3 16 bias=b, bn, relu
    conv 3x3 16, bn
  }
  relu
}
network r {
  input 16x8x8
  stage1: { %s }
}
"""


def test_runs_refuse_a_block_differing_in_one_attribute():
    # Same block, shapes and wiring; the third block's first conv has a bias: drawn apart, not ×4.
    g = resdsl.load(_CELLS % "cell false, cell false, cell true, cell false").graph
    units, index_of = find_units(g, find_skips(g))
    assert [r.count for r in find_runs(g, units, index_of)] == [2, 1, 1]


def test_runs_fold_blocks_after_a_loose_op():
    # The first block reads a loose op's output, its copies the block before: all four fold.
    g = resdsl.load(_CELLS % "relu, cell false, cell false, cell false, cell false").graph
    units, index_of = find_units(g, find_skips(g))
    assert [r.count for r in find_runs(g, units, index_of)] == [4]
