"""`resdsl.build` behaves like a torchvision model: scopes are real submodules (stages indexable, blocks
callable), replacing a submodule takes effect, hooks fire, and the usual tools see the hierarchy."""
from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import resdsl  # noqa: E402
from resdsl.backends.torch import Block, Sequential  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TV = ROOT / "specs/torchvision"

# (spec, the head to replace, a stage to call alone, a small input the architecture accepts)
NETS = {
    "resnet50": ("fc", "layer3", 64),
    "densenet121": ("classifier", "features.denseblock3", 64),
    "googlenet": ("fc", "inception4c", 96),
}


@pytest.fixture(scope="module", params=sorted(NETS))
def built(request):
    name = request.param
    torch.manual_seed(0)
    model = resdsl.build(TV / f"{name}.res")
    _randomise_bn(model)
    return name, model.eval()


def _randomise_bn(model: nn.Module) -> None:
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)


def _x(size: int, batch: int = 2) -> torch.Tensor:
    return torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(1))


def test_replacing_the_head_gives_a_ten_way_output(built):
    name, model = built
    head, _, size = NETS[name]
    old = model.get_submodule(head)
    try:
        model.set_submodule(head, nn.Linear(old.in_features, 10))
        with torch.no_grad():
            assert model(_x(size)).shape == (2, 10)
    finally:
        model.set_submodule(head, old)
    with torch.no_grad():
        assert model(_x(size)).shape == (2, 1000)


def test_a_stage_called_alone_equals_that_part_of_the_full_forward_and_its_hook_fires_once(built):
    name, model = built
    _, stage, size = NETS[name]
    seen = []
    handle = model.get_submodule(stage).register_forward_hook(lambda m, args, out: seen.append((args[0], out)))
    try:
        with torch.no_grad():
            model(_x(size))
            assert len(seen) == 1
            x_in, y = seen[0]
            x_copy = x_in.clone()
            alone = model.get_submodule(stage)(x_in)
        assert len(seen) == 2
        assert torch.equal(alone, y)
        assert torch.equal(x_in, x_copy)  # calling a stage alone never overwrites its input
    finally:
        handle.remove()


def test_stages_are_sequential_and_blocks_callable():
    model = resdsl.build(TV / "resnet50.res")
    assert isinstance(model.layer3, nn.Sequential) and len(model.layer3) == 6
    assert isinstance(model.layer3[0], Block) and isinstance(model.layer3[0].downsample, Sequential)
    assert [type(m) for m in model.layer1[1:]] == [Block, Block]
    x = torch.randn(1, 1024, 4, 4)
    with torch.no_grad():
        model.layer3[5](x)  # a block alone


def test_replacing_a_block_inside_a_stage_takes_effect():
    torch.manual_seed(0)
    model = resdsl.build(TV / "resnet18.res").eval()
    x = _x(64, batch=1)
    calls = []
    with torch.no_grad():
        before = model(x)
        model.layer4[1] = nn.Identity()
        model.layer4[0].register_forward_hook(lambda *a: calls.append(1))
        after = model(x)
        model.layer4[0].bn2 = nn.Identity()  # and a layer inside a block
        again = model(x)
    assert calls == [1, 1]
    assert not torch.allclose(before, after) and not torch.allclose(after, again)


def test_torchinfo_reports_per_stage_output_shapes():
    torchinfo = pytest.importorskip("torchinfo", reason="torchinfo is a dev extra (scripts/setup-dev.sh)")
    model = resdsl.build(TV / "resnet50.res")
    stats = torchinfo.summary(model, input_size=(1, 3, 64, 64), depth=2, verbose=0,
                              col_names=("output_size", "num_params"))
    shapes = {(layer.var_name, layer.depth): layer.output_size for layer in stats.summary_list}
    assert shapes[("layer1", 1)] == [1, 256, 16, 16]
    assert shapes[("layer3", 1)] == [1, 1024, 4, 4]
    assert shapes[("layer4", 1)] == [1, 2048, 2, 2]
    assert stats.total_params == resdsl.load(TV / "resnet50.res").params


@pytest.fixture(scope="module")
def torchvision():
    sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
    return pytest.importorskip("torchvision", reason="torchvision is not installed")


def test_create_feature_extractor_sees_the_stages(torchvision):
    from torchvision.models.feature_extraction import create_feature_extractor, get_graph_node_names

    torch.manual_seed(0)
    model = resdsl.build(TV / "resnet50.res").eval()
    train_nodes, eval_nodes = get_graph_node_names(model)
    assert "layer2.1.conv2" in eval_nodes and any(n.startswith("layer3.5.") for n in eval_nodes)
    extractor = create_feature_extractor(model, {"layer2": "c3", "layer3": "c4", "fc": "logits"})
    x = _x(64, batch=1)
    with torch.no_grad():
        out = extractor(x)
        assert out["c3"].shape == (1, 512, 8, 8) and out["c4"].shape == (1, 1024, 4, 4)
        assert torch.allclose(out["logits"], model(x))
