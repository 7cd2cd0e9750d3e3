"""One elaboration's state lives in one object, and a residual's shortcut policy is data of its block."""
from __future__ import annotations

from pathlib import Path

import pytest

from resdsl.diagnostics import ArgumentError, NameResolutionError, ShapeError
from resdsl.elaborate.elaborator import Elaborator
from resdsl.pipeline import load, load_program

SPECS = Path(__file__).resolve().parent.parent / "specs"

TWO = """
block res(width) { residual { conv 3x3 width, bn } }
network first {
  input 3x8x8
  stochastic_depth 0.5
  conv 3x3 8
  stages res { a: 8 x2 }
}
network second {
  input 3x8x8
  conv 3x3 8
  stages res { a: 8 x2 }
  relu
}
"""


def _shape(elaborated):
    g = elaborated.graph
    return [(n.op, n.inputs, n.type, n.path, n.stage) for n in g.nodes], [(s.path, s.kind, s.stage) for s in g.scopes]


@pytest.mark.parametrize("order", [("first", "second"), ("second", "first")])
def test_one_elaborator_for_two_networks_equals_fresh_ones(order):
    program = load_program(TWO)
    shared = Elaborator(program)
    for name in order:
        assert _shape(shared.network(name)) == _shape(Elaborator(program).network(name))


def test_one_elaborator_for_every_network_of_a_library_file():
    program = load_program(SPECS / "cifar" / "resnet110_stochastic_depth.res")
    shared = Elaborator(program)
    for name in ("resnet_cifar_sd", "resnet110_stochastic_depth", "resnet_cifar_sd"):
        assert _shape(shared.network(name)) == _shape(Elaborator(program).network(name))


POLICY = """
block regnet_like(width, stride=1) { residual proj_name=proj { conv 3x3 width /stride, bn } }
block resnet_d(width, stride=1) { residual shortcut=C proj=avgpool { conv 3x3 width /stride, bn } }
group my_proj(out, stride=1) { conv 1x1 out /stride pad=0, bn, relu }
block custom(width, stride=1) { residual proj=my_proj proj_name="short-cut" { conv 3x3 width /stride, bn } }
block hw(width) { residual shortcut=gated gate_name=transform { conv 3x3 width bias=true } }
network n {
  input 3x16x16
  a: regnet_like 8 /2
  b: resnet_d 16 /2
  b1: resnet_d 16
  c: custom 32 /2
  d: hw 32
  fc 3
}
"""


def test_shortcut_policy_names_and_forms():
    net = load(POLICY)
    layers = {n.path: n.op for n in net.graph.nodes if n.op.is_layer}
    assert {"a.proj.0", "a.proj.1"} <= layers.keys() and not any(p.startswith("a.downsample") for p in layers)
    # ResNet-D: 2x2 average pool (ceil, padding not counted), then a stride-1 1x1 conv and BN
    pool = layers["b.downsample.0"]
    assert (pool.mode, pool.kernel, pool.stride, pool.ceil_mode, pool.count_include_pad) == ("avg", (2, 2), (2, 2), True, False)
    assert layers["b.downsample.1"].stride == (1, 1) and layers["b.downsample.1"].kernel == (1, 1)
    assert layers["b.downsample.2"].kind == "bn"
    assert layers["b1.downsample.0"].kind == "conv"  # no pool where the map keeps its size
    # the spec's own block as the projection, called as my_proj(out, stride=2)
    assert layers["c.short-cut.0"].out_channels == 32 and layers["c.short-cut.0"].stride == (2, 2)
    assert layers["c.short-cut.2"].kind == "activation"
    assert {"d.transform", "d.transform_act"} <= layers.keys()


def test_default_policy_is_torchvisions():
    layers = [n.path for n in load(SPECS / "torchvision" / "resnet50.res").graph.nodes]
    assert "layer2.0.downsample.0" in layers and "layer2.0.downsample.1" in layers


def test_resnet_d_projection_equals_timms_avg_down():
    torch = pytest.importorskip("torch")
    from resdsl.backends.torch import build_module

    net = load("block r(width, stride=1) { residual proj=avgpool { conv 3x3 width /stride, bn } }\n"
               "network n {\n input 4x9x9\n r 8 /2\n}")
    module = build_module(net).eval()
    ds = module.get_submodule("0.downsample")
    ref = torch.nn.Sequential(torch.nn.AvgPool2d(2, 2, ceil_mode=True, count_include_pad=False),
                              torch.nn.Conv2d(4, 8, 1, bias=False), torch.nn.BatchNorm2d(8)).eval()
    ref.load_state_dict(ds.state_dict(), strict=True)
    x = torch.randn(2, 4, 9, 9)
    with torch.no_grad():  # the group's layers in order (the network's forward calls them one by one)
        assert torch.equal(ds.get_submodule("2")(ds.get_submodule("1")(ds.get_submodule("0")(x))), ref(x))


def test_bad_policies_are_located():
    with pytest.raises(NameResolutionError) as err:
        load("block r(w) { residual proj=maxpool { conv 3x3 w /2 } }\nnetwork n {\n input 3x8x8\n r 8\n}")
    assert "projection form" in err.value.message
    with pytest.raises(ShapeError) as err:
        load("group p(out, stride=1) { conv 1x1 16 /stride }\nblock r(w) { residual proj=p { conv 3x3 w /2 } }\n"
             "network n {\n input 3x8x8\n r 8\n}")
    assert "projection block p" in err.value.message


def test_table_rows_bind_with_the_one_binder(tmp_path):
    from resdsl.tables import evaluate_file

    path = tmp_path / "t.res"
    base = "network f(width=8, depth=1) {\n input 3x8x8\n conv 3x3 width\n}\n"
    path.write_text(base + "table t { a = f(16) :: params=432 }\n")
    (result,) = evaluate_file(path)
    assert result.rows[0].params == 3 * 9 * 16
    path.write_text(base + "table t { a = f(16, width=8) :: params=432 }\n")
    with pytest.raises(NameResolutionError, match="given twice"):
        evaluate_file(path)
    path.write_text(base + "table t { a = f(1, 2, 3) :: params=432 }\n")
    with pytest.raises(ArgumentError, match="takes 2 positional arguments"):
        evaluate_file(path)


def test_an_elaborator_keeps_no_state_of_its_own_between_networks():
    """Everything one network's elaboration changes lives in `state`, replaced for the next network."""
    program = load_program(TWO)
    shared = Elaborator(program)
    before = shared.state
    shared.network("first")
    assert set(vars(shared)) == {"program", "reuse_expansions", "state"}
    assert shared.state is not before and shared.work is shared.state.work
    first_state = shared.state
    shared.network("second")
    assert shared.state is not first_state and shared.state.depth is None
