"""The shipped spec library (specs/): every file checks, has the names and counts it claims, and has the
structure its comments describe.  Counts from the published tables are in test_specs_paper_tables.py;
the table files themselves in test_specs_tables.py."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

import resdsl
from resdsl.ir import ops
from resdsl.pipeline import load_program
from references import reference_of_spec

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"

ALL_SPECS = sorted(p for p in SPECS.rglob("*.res") if "tables" not in p.relative_to(SPECS).parts)
NAMED_SPECS = [p for p in ALL_SPECS if "families" not in p.parts and p.parent.name != "examples"]


def rel(path: Path) -> str:
    return str(path.relative_to(SPECS))


@lru_cache(maxsize=None)
def load(relpath: str, **overrides):
    return resdsl.load(str(SPECS / relpath), **overrides)


def nodes_of(net, kind):
    return [n for n in net.graph.nodes if isinstance(n.op, kind)]


# ---- every file -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ALL_SPECS, ids=rel)
def test_spec_checks(path):
    net = load(rel(path))
    assert net.params > 0
    assert net.macs > 0
    assert all(b.ok for b in net.budgets)     # a budget that failed would have raised already


@pytest.mark.parametrize("path", ALL_SPECS, ids=rel)
def test_one_network_per_file(path):
    program = load_program(str(path))
    assert len(program.main_networks) == 1, program.main_networks


@pytest.mark.parametrize("path", NAMED_SPECS, ids=rel)
def test_network_named_after_its_file(path):
    program = load_program(str(path))
    assert program.main_networks == [path.stem]
    assert load(rel(path)).name == path.stem


# Every CNN classifier torchvision ships (not the transformers: ViT, Swin, MaxViT).
TORCHVISION_CNNS = (
    "alexnet convnext_tiny convnext_small convnext_base convnext_large densenet121 densenet161 densenet169 "
    "densenet201 efficientnet_b0 efficientnet_b1 efficientnet_b2 efficientnet_b3 efficientnet_b4 efficientnet_b5 "
    "efficientnet_b6 efficientnet_b7 efficientnet_v2_s efficientnet_v2_m efficientnet_v2_l googlenet inception_v3 "
    "mnasnet0_5 mnasnet0_75 mnasnet1_0 mnasnet1_3 mobilenet_v2 mobilenet_v3_small mobilenet_v3_large "
    "regnet_x_400mf regnet_x_800mf regnet_x_1_6gf regnet_x_3_2gf regnet_x_8gf regnet_x_16gf regnet_x_32gf "
    "regnet_y_400mf regnet_y_800mf regnet_y_1_6gf regnet_y_3_2gf regnet_y_8gf regnet_y_16gf regnet_y_32gf "
    "regnet_y_128gf resnet18 resnet34 resnet50 resnet101 resnet152 resnext50_32x4d resnext101_32x8d "
    "resnext101_64x4d wide_resnet50_2 wide_resnet101_2 shufflenet_v2_x0_5 shufflenet_v2_x1_0 shufflenet_v2_x1_5 "
    "shufflenet_v2_x2_0 squeezenet1_0 squeezenet1_1 vgg11 vgg13 vgg16 vgg19 vgg11_bn vgg13_bn vgg16_bn vgg19_bn"
).split()


def test_library_is_complete():
    expected = {
        "torchvision": " ".join(TORCHVISION_CNNS),
        "paper": "resnet18 resnet34 resnet50 resnet101 resnet152 plain18 plain34 resnet34_A resnet34_B resnet34_C "
                 "inception_v4 bn_nin bn_alexnet inception_resnet_v2 alexnet enet",
        "cifar": "resnet20 resnet32 resnet44 resnet56 resnet110 resnet1202 plain20 plain32 plain44 plain56 "
                 "preact_resnet110 preact_resnet164 preact_resnet1001 resnet110_stochastic_depth wrn16_4 wrn16_8 "
                 "wrn28_10 wrn16_4_dropout densenet40_k12 densenet100_k12 densenet100_k24 densenet_bc100_k12 "
                 "densenet_bc250_k24 densenet_bc190_k40 nin resnext29_8x64d resnext29_16x64d allcnn_c "
                 "preact_resnet164_stride_on_1x1 fractalnet20 fractalnet20_droppath fractalnet40",
        "other": "highway unet",
        "tables": "resnet_imagenet_table1 resnet_cifar_table6 resnet_shortcut_options densenet_table2 "
                  "resnext_cifar_table7 canziani_comparison enet_table3",
    }
    for folder, names in expected.items():
        for name in names.split():
            assert (SPECS / folder / f"{name}.res").is_file(), f"{folder}/{name}.res"
    assert len(list((SPECS / "examples").glob("*.res"))) >= 3


# ---- torchvision ------------------------------------------------------------------------------

TORCHVISION_SPECS = sorted(p.stem for p in (SPECS / "torchvision").glob("*.res"))


@pytest.mark.parametrize("name", TORCHVISION_SPECS)
def test_torchvision_counts_equal_the_reference(name):
    """Without torch: the figures scripts/make_reference.py measured on torchvision's own code."""
    reference = reference_of_spec(name)
    net = load(f"torchvision/{name}.res")
    assert list(net.input_type.shape) == reference["input"]
    assert list(net.output_type.shape) == reference["output"]
    assert (net.params, net.totals.buffers, net.macs) == (reference["params"], reference["buffers"],
                                                         reference["macs"])


def state_dict_layout(net) -> dict[str, list[int]]:
    """The parameter and buffer names (and shapes) a PyTorch build of the IR would have."""
    out: dict[str, list[int]] = {}
    for node in net.graph.nodes:
        op, p = node.op, node.path
        if not op.is_layer:
            continue
        if isinstance(op, ops.Conv):
            out[f"{p}.weight"] = [op.out_channels, op.in_channels // op.groups, *op.kernel]
            if op.bias:
                out[f"{p}.bias"] = [op.out_channels]
        elif isinstance(op, ops.ConvTranspose):
            out[f"{p}.weight"] = [op.in_channels, op.out_channels, *op.kernel]
            if op.bias:
                out[f"{p}.bias"] = [op.out_channels]
        elif isinstance(op, ops.BatchNorm):
            for key in ("weight", "bias", "running_mean", "running_var"):
                out[f"{p}.{key}"] = [op.channels]
            out[f"{p}.num_batches_tracked"] = []
        elif isinstance(op, ops.Linear):
            out[f"{p}.weight"] = [op.out_features, op.in_features]
            if op.bias:
                out[f"{p}.bias"] = [op.out_features]
    return out


# state_dict_layout models conv, BN and linear layers; ConvNeXt's layer norms, channel MLPs and layer
# scales are compared by tests/test_torch_backend.py's layout test (built on the meta device).
@pytest.mark.parametrize("name", [n for n in TORCHVISION_SPECS if not n.startswith("convnext")])
def test_torchvision_state_dict_layout(name):
    reference = dict((k, list(v)) for k, v in reference_of_spec(name)["state_dict"])
    ours = state_dict_layout(load(f"torchvision/{name}.res"))
    assert sorted(set(reference) - set(ours)) == []
    assert sorted(set(ours) - set(reference)) == []
    assert {k: v for k, v in ours.items() if reference[k] != v} == {}


def test_torchvision_resnets_stride_on_3x3():
    net = load("torchvision/resnet50.res")
    conv = {n.path: n.op for n in nodes_of(net, ops.Conv)}
    assert conv["layer2.0.conv1"].stride == (1, 1)
    assert conv["layer2.0.conv2"].stride == (2, 2)
    assert conv["layer2.0.downsample.0"].stride == (2, 2)


def test_resnext_groups():
    conv = {n.path: n.op for n in nodes_of(load("torchvision/resnext101_64x4d.res"), ops.Conv)}
    assert conv["layer1.0.conv2"].groups == 64
    assert conv["layer1.0.conv2"].out_channels == 256       # 64 groups x 4 channels
    assert conv["layer4.0.conv2"].out_channels == 2048


# ---- the paper's ImageNet ResNets ---------------------------------------------------------------


def test_paper_resnet_names_and_stride_on_1x1():
    net = load("paper/resnet50.res")
    conv = {n.path: n.op for n in nodes_of(net, ops.Conv)}
    assert conv["conv3_x.0.conv1"].stride == (2, 2)
    assert conv["conv3_x.0.conv2"].stride == (1, 1)
    assert {n.path for n in nodes_of(net, ops.Linear)} == {"fc"}
    assert [s for s in net.graph.stages if s.startswith("conv")] == ["conv2_x", "conv3_x", "conv4_x", "conv5_x"]


@pytest.mark.parametrize("depth", [18, 34, 50, 101, 152])
def test_paper_and_torchvision_resnets_share_parameters(depth):
    assert load(f"paper/resnet{depth}.res").params == load(f"torchvision/resnet{depth}.res").params


def test_paper_shortcut_options():
    a, b, c = (load(f"paper/resnet34_{s}.res") for s in "ABC")
    plain = load("paper/plain34.res")
    # option A and the plain net have no parameters in their shortcuts
    assert a.params == plain.params == b.params - 173_824       # B's three projections (conv + BN)
    assert c.params == b.params + 919_168                       # 13 more projections
    assert len(nodes_of(a, ops.ZeroPadShortcut)) == 3
    assert not nodes_of(plain, ops.Add)
    assert len(nodes_of(a, ops.Add)) == len(nodes_of(b, ops.Add)) == len(nodes_of(c, ops.Add)) == 16
    projections = lambda net: [n for n in nodes_of(net, ops.Conv) if "downsample" in n.path]
    assert len(projections(b)) == 3 and len(projections(c)) == 16 and not projections(a)


def test_plain18():
    plain = load("paper/plain18.res")
    assert not nodes_of(plain, ops.Add)
    assert plain.params == load("paper/resnet18.res").params - 173_824    # no projection shortcuts


# ---- CIFAR --------------------------------------------------------------------------------------

CIFAR_RESNETS = ["resnet20", "resnet32", "resnet44", "resnet56", "resnet110", "resnet1202",
                 "plain20", "plain32", "plain44", "plain56"]


@pytest.mark.parametrize("name", CIFAR_RESNETS)
def test_cifar_resnet_shapes(name):
    net = load(f"cifar/{name}.res")
    assert net.input_type.shape == (3, 32, 32)
    assert net.output_type.shape == (10,)
    expected = {"layer1": (16, 32), "layer2": (32, 16), "layer3": (64, 8)}
    for stage, (channels, size) in expected.items():
        stage_nodes = [n for n in net.graph.nodes if n.stage == stage]
        assert stage_nodes, stage
        for n in stage_nodes:
            assert n.type.is_image and n.type.spatial == (size, size), (n.path, n.type)
        assert stage_nodes[-1].type.channels == channels
    depth = int(name.removeprefix("resnet").removeprefix("plain"))
    weighted = nodes_of(net, ops.Conv) + nodes_of(net, ops.Linear)
    assert len(weighted) == depth                                   # 6n+2 layers, no projections


@pytest.mark.parametrize("depth", [20, 32, 44, 56])
def test_cifar_plain_counterparts(depth):
    plain, res = load(f"cifar/plain{depth}.res"), load(f"cifar/resnet{depth}.res")
    assert plain.params == res.params                              # option A adds no parameters
    assert not nodes_of(plain, ops.Add) and not nodes_of(plain, ops.ZeroPadShortcut)
    assert len(nodes_of(res, ops.Add)) == 3 * (depth - 2) // 6
    assert len(nodes_of(res, ops.ZeroPadShortcut)) == 2


def test_resnet20_family_override():
    assert load("cifar/resnet20.res", depth=56).params == load("cifar/resnet56.res").params == 853018
    assert load("cifar/resnet20.res", depth=110).params == 1727962


def test_stochastic_depth():
    net = load("cifar/resnet110_stochastic_depth.res")
    drops = nodes_of(net, ops.DropPath)
    assert len(drops) == 54
    assert drops[-1].op.survival == pytest.approx(0.5)
    assert drops[0].op.survival == pytest.approx(1 - 1 / 54 * 0.5)
    assert net.params == load("cifar/resnet110.res").params
    assert not nodes_of(load("cifar/resnet110.res"), ops.DropPath)


@pytest.mark.parametrize("name,block_convs,blocks", [("preact_resnet110", 2, 54), ("preact_resnet164", 3, 54),
                                                      ("preact_resnet1001", 3, 333)])
def test_preact_resnets(name, block_convs, blocks):
    net = load(f"cifar/{name}.res")
    assert net.output_type.shape == (10,)
    assert len(nodes_of(net, ops.Add)) == blocks
    # BN + ReLU after the last block, before pooling
    tail = [n.op for n in net.graph.nodes[-4:]]
    assert isinstance(tail[0], ops.BatchNorm) and isinstance(tail[1], ops.Activation)
    assert isinstance(tail[2], ops.AdaptivePool) and isinstance(tail[3], ops.Linear)
    last_stage = [n for n in net.graph.nodes if n.stage == "layer3"]
    assert last_stage[-1].type.shape == ((256 if block_convs == 3 else 64), 8, 8)
    # nothing after the addition inside a pre-activation block
    for add in nodes_of(net, ops.Add):
        users = net.graph.users[add.id]
        assert all(not isinstance(net.graph.nodes[u].op, ops.Activation) for u in users)


def test_wide_resnet_shortcut_is_a_bare_1x1_conv():
    net = load("cifar/wrn28_10.res")
    paths = {n.path: n.op for n in net.graph.nodes if n.op.is_layer}
    assert isinstance(paths["block1.0.downsample.0"], ops.Conv)
    assert paths["block1.0.downsample.0"].kernel == (1, 1) and not paths["block1.0.downsample.0"].bias
    assert "block1.0.downsample.1" not in paths
    assert paths["fc"].in_features == 640
    assert not nodes_of(net, ops.Dropout)
    assert len(nodes_of(load("cifar/wrn16_4_dropout.res"), ops.Dropout)) == 6


@pytest.mark.parametrize("name,layers,final_channels", [
    ("densenet40_k12", 12, 16 + 3 * 12 * 12),
    ("densenet100_k12", 32, 16 + 3 * 32 * 12),
    ("densenet100_k24", 32, 16 + 3 * 32 * 24),
    ("densenet_bc100_k12", 16, ((24 + 16 * 12) // 2 + 16 * 12) // 2 + 16 * 12),
    ("densenet_bc250_k24", 41, ((48 + 41 * 24) // 2 + 41 * 24) // 2 + 41 * 24),
    ("densenet_bc190_k40", 31, ((80 + 31 * 40) // 2 + 31 * 40) // 2 + 31 * 40),
])
def test_cifar_densenets(name, layers, final_channels):
    net = load(f"cifar/{name}.res")
    assert net.output_type.shape == (10,)
    fc = nodes_of(net, ops.Linear)
    assert len(fc) == 1 and fc[0].op.in_features == final_channels
    scopes = [s.path for s in net.graph.scopes]
    for block in (1, 2, 3):
        assert f"features.denseblock{block}.denselayer{layers}" in scopes
        assert f"features.denseblock{block}.denselayer{layers + 1}" not in scopes
    bottleneck = name.startswith("densenet_bc")
    paths = {n.path for n in nodes_of(net, ops.Conv)}
    assert ("features.denseblock1.denselayer1.conv2" in paths) == bottleneck
    stem = {n.path: n.op for n in nodes_of(net, ops.Conv)}["features.conv0"]
    assert stem.kernel == (3, 3) and stem.out_channels == (2 * int(name.split("_k")[1]) if bottleneck else 16)


def test_nin():
    net = load("cifar/nin.res")
    assert net.output_type.shape == (10,)
    assert not nodes_of(net, ops.Linear)                            # global pooling is the classifier
    convs = nodes_of(net, ops.Conv)
    assert [c.op.out_channels for c in convs] == [192, 160, 96, 192, 192, 192, 192, 192, 10]
    assert [c.op.kernel[0] for c in convs] == [5, 1, 1, 5, 1, 1, 3, 1, 1]
    pools = [n for n in nodes_of(net, ops.Pool)]
    assert [(p.op.mode, p.type.spatial) for p in pools] == [("max", (16, 16)), ("avg", (8, 8))]
    assert len(nodes_of(net, ops.Dropout)) == 2
    # 3*192*25+192 + 192*160+160 + 160*96+96 + 96*192*25+192 + 2*(192*192+192) + 192*192*9+192
    # + 192*192+192 + 192*10+10
    assert net.params == 966_986


# ---- other --------------------------------------------------------------------------------------


def test_unet():
    net = load("other/unet.res")
    assert net.input_type.shape == (1, 572, 572)
    assert net.output_type.shape == (2, 388, 388)
    assert net.params == 31_030_658


def test_highway():
    net = load("other/highway.res")
    assert net.output_type.shape == (10,)
    gates = nodes_of(net, ops.GatedSum)
    assert len(gates) == 9
    assert not nodes_of(net, ops.Add)
    assert len(nodes_of(load("other/highway.res", n=9), ops.GatedSum)) == 27


# ---- examples -----------------------------------------------------------------------------------


def test_se_example_uses_a_broadcast_multiply():
    net = load("examples/se_resnet_cifar.res")
    muls = nodes_of(net, ops.Mul)
    assert len(muls) == 9
    base = load("cifar/resnet20.res")
    # each SE adds two 1x1 convs with bias: C*C/r + C/r + C/r*C + C
    se = sum(2 * c * (c // 4) + c // 4 + c for c in [16] * 3 + [32] * 3 + [64] * 3)
    assert net.params == base.params + se
    assert net.macs > base.macs


def test_explicit_resnet_example():
    net = load("examples/explicit_resnet.res")
    assert net.output_type.shape == (10,)
    assert len(nodes_of(net, ops.Add)) == 6
    assert {n.path for n in nodes_of(net, ops.Conv) if "shortcut" in n.path} == {"stage2.0.shortcut.0",
                                                                                 "stage3.0.shortcut.0"}


def test_family_example_overrides():
    family = "examples/resnet_family.res"
    assert load(family).params == 269722                                # ResNet-20
    assert load(family, depth=56).params == 853018                      # ResNet-56
    assert load(family, depth=56, shortcut=resdsl_symbol("B")).params > 853018
    wide = load(family, input_shape=resdsl_dims(3, 64, 64))
    assert wide.input_type.shape == (3, 64, 64) and wide.params == 269722
    assert load(family, bottleneck=True, depth=29).output_type.shape == (10,)


def resdsl_symbol(name):
    from resdsl.elaborate.values import Symbol
    return Symbol(name)


def resdsl_dims(*values):
    from resdsl.elaborate.values import Dims
    return Dims(tuple(values))
