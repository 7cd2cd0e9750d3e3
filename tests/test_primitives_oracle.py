"""The new primitives against PyTorch: a network of the one op, built, equals the torch.nn /
torch.nn.functional reference on random input that exercises the op's corners (values above 6,
negative values), with the same output shape and the same parameters (loaded strictly)."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import resdsl  # noqa: E402

pytestmark = pytest.mark.torch
C, H, W = 8, 6, 5


def _net(line: str, shape: str = f"{C}x{H}x{W}"):
    net = resdsl.load(f"network one {{\n  input {shape}\n  {line}\n}}\n")
    module = resdsl.build(net).eval()
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    return net, module


def _x(*shape: int) -> torch.Tensor:
    x = torch.randn(2, *(shape or (C, H, W)), generator=torch.Generator().manual_seed(7)) * 5
    assert (x > 6).any() and (x < -1).any()  # both corners of every activation are reached
    return x


def _same(module, reference, x, net) -> None:
    with torch.no_grad():
        ours, theirs = module(x), reference(x)
    assert ours.shape == theirs.shape and tuple(ours.shape[1:]) == net.output_type.shape
    assert torch.allclose(ours, theirs, rtol=1e-6, atol=1e-6), (ours - theirs).abs().max()


ACTIVATIONS = [
    ("relu6", lambda x: F.relu6(x)),
    ("silu", F.silu),
    ("hardswish", F.hardswish),
    ("hardsigmoid", F.hardsigmoid),
    ("gelu", F.gelu),
    ("gelu approximate=tanh", lambda x: F.gelu(x, approximate="tanh")),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.01)),
    ("leaky_relu 0.2", lambda x: F.leaky_relu(x, 0.2)),
    ("elu", F.elu),
    ("elu alpha=0.5", lambda x: F.elu(x, 0.5)),
    ("tanh", torch.tanh),
    ("softmax", lambda x: F.softmax(x, dim=1)),
]


@pytest.mark.parametrize("line, reference", ACTIVATIONS, ids=[a for a, _ in ACTIVATIONS])
@pytest.mark.parametrize("producer", ["", "conv 1x1 8, "], ids=["on the input", "in place after a conv"])
def test_activation(line, reference, producer):
    net, module = _net(producer + line)
    assert net.params == (64 if producer else 0)
    x = _x()
    conv = (lambda t: F.conv2d(t, module.get_submodule("0").weight)) if producer else (lambda t: t)
    _same(module, lambda t: reference(conv(t)), x, net)


def test_relu6_is_not_relu():
    net, module = _net("relu6")
    x = _x()
    with torch.no_grad():
        assert module(x).max().item() == 6.0 and not torch.equal(module(x), F.relu(x))


@pytest.mark.parametrize("line, count", [("prelu", C), ("prelu shared=true", 1)])
def test_prelu(line, count):
    net, module = _net(f"act: {line}")
    reference = nn.PReLU(count)
    reference.load_state_dict({"weight": module.act.weight}, strict=True)
    assert net.params == count == sum(p.numel() for p in reference.parameters())
    _same(module, reference, _x(), net)


def test_prelu_starts_at_torchs_init():
    _, module = _net("act: prelu")
    fresh = resdsl.build(resdsl.load(f"network one {{\n  input {C}x{H}x{W}\n  act: prelu\n}}\n"))
    assert torch.equal(fresh.act.weight, nn.PReLU(C).weight)
    assert tuple(module.state_dict()) == ("act.weight",)


def test_layernorm_over_channels():
    net, module = _net("norm: layernorm")
    reference = nn.LayerNorm(C, eps=1e-6)
    reference.load_state_dict({k[len("norm."):]: v for k, v in module.state_dict().items()}, strict=True)
    assert net.params == 2 * C
    _same(module, lambda x: reference(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2), _x(), net)


def test_layernorm_equals_torchvisions_layernorm2d():
    import sys
    import types

    sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
    convnext = pytest.importorskip("torchvision.models.convnext")
    net, module = _net("norm: layernorm")
    reference = convnext.LayerNorm2d(C, eps=1e-6)
    reference.load_state_dict({k[len("norm."):]: v for k, v in module.state_dict().items()}, strict=True)
    _same(module, reference, _x(), net)


def test_layernorm_of_a_vector():
    net, module = _net("flatten, norm: layernorm eps=1e-5")
    reference = nn.LayerNorm(C * H * W)
    reference.load_state_dict({k[len("norm."):]: v for k, v in module.state_dict().items()}, strict=True)
    _same(module, lambda x: reference(torch.flatten(x, 1)), _x(), net)


def test_groupnorm():
    net, module = _net("norm: groupnorm 4")
    reference = nn.GroupNorm(4, C)
    reference.load_state_dict({k[len("norm."):]: v for k, v in module.state_dict().items()}, strict=True)
    assert net.params == 2 * C
    _same(module, reference, _x(), net)


def test_lrn():
    net, module = _net("lrn 5 alpha=0.001 beta=0.75 k=2")
    _same(module, nn.LocalResponseNorm(5, alpha=0.001, beta=0.75, k=2.0), _x(), net)
    assert net.params == 0


def test_layer_scale_is_a_parameter_named_by_its_label():
    net = resdsl.load(f"network one {{\n  input {C}x{H}x{W}\n  block1: {{ conv 1x1 8, layer_scale: layer_scale }}\n}}\n")
    module = resdsl.build(net).eval()
    state = module.state_dict()
    assert set(state) == {"block1.0.weight", "block1.layer_scale"}
    assert state["block1.layer_scale"].shape == (C, 1, 1)
    assert torch.all(state["block1.layer_scale"] == 1e-6)  # torchvision's CNBlock init
    assert net.params == C * C + C
    x = _x()
    with torch.no_grad():
        module.block1.layer_scale.copy_(torch.randn(C, 1, 1))
        expected = module.block1.layer_scale * F.conv2d(x, module.get_submodule("block1.0").weight)
    _same(module, lambda t: expected, x, net)


def test_layer_scale_init():
    net, module = _net("ls: layer_scale init=0.5")
    assert resdsl.build(net).ls.detach().flatten().tolist() == [0.5] * C


def test_channel_fc_is_a_linear_over_channels():
    net, module = _net("mlp: channel_fc 12")
    reference = nn.Linear(C, 12)
    reference.load_state_dict({k[len("mlp."):]: v for k, v in module.state_dict().items()}, strict=True)
    assert module.state_dict()["mlp.weight"].shape == (12, C)
    assert net.params == C * 12 + 12 and net.macs == H * W * C * 12
    _same(module, lambda x: reference(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2), _x(), net)


@pytest.mark.parametrize("line, kwargs", [
    ("upsample 2", dict(scale_factor=2, mode="nearest")),
    ("upsample 1.5", dict(scale_factor=1.5, mode="nearest")),
    ("upsample 2 mode=bilinear", dict(scale_factor=2, mode="bilinear", align_corners=False)),
    ("upsample 3 mode=bilinear align_corners=true", dict(scale_factor=3, mode="bilinear", align_corners=True)),
    ("upsample size=7x11", dict(size=(7, 11), mode="nearest")),
    ("upsample size=9x9 mode=bilinear", dict(size=(9, 9), mode="bilinear", align_corners=False)),
])
def test_upsample(line, kwargs):
    net, module = _net(line)
    _same(module, lambda x: F.interpolate(x, **kwargs), _x(), net)


def test_channel_shuffle_equals_torch():
    net, module = _net("channel_shuffle 4")
    _same(module, nn.ChannelShuffle(4), _x(), net)


def test_split_feeds_branch_i_with_part_i():
    net, module = _net("split [3, 5]\n  concat {\n    identity\n    sigmoid\n  }")

    def reference(x):
        a, b = torch.split(x, [3, 5], dim=1)
        return torch.cat([a, torch.sigmoid(b)], 1)
    _same(module, reference, _x(), net)


def test_chunk_into_an_add():
    net, module = _net("chunk 4\n  add {\n    identity\n    identity\n    tanh\n    relu\n  }")

    def reference(x):
        a, b, c, d = torch.chunk(x, 4, dim=1)
        return a + b + torch.tanh(c) + torch.relu(d)
    _same(module, reference, _x(), net)


# ---- max-unpooling with a pool's indices (ENet), spatial dropout, up-conv output padding ----------


@pytest.mark.parametrize("pool, kwargs, shape", [
    ("maxpool 2x2/2", dict(kernel_size=2, stride=2), f"{C}x{H}x{W}"),            # odd width: 5 -> 2 -> 5
    ("maxpool 3x3/2 pad=1", dict(kernel_size=3, stride=2, padding=1), f"{C}x{H}x{W}"),
    ("maxpool 2x2/2 ceil=true", dict(kernel_size=2, stride=2, ceil_mode=True), f"{C}x{H}x{W}"),
    ("maxpool 3x3/1 pad=1", dict(kernel_size=3, stride=1, padding=1), f"{C}x{H}x{W}"),
])
def test_maxunpool_puts_values_back_where_torchs_pool_found_them(pool, kwargs, shape):
    net, module = _net(f"p: {pool}\n  tanh\n  u: maxunpool @p", shape)
    torch_pool = nn.MaxPool2d(**kwargs, return_indices=True)
    unpool = nn.MaxUnpool2d(kwargs["kernel_size"], kwargs["stride"], kwargs.get("padding", 0))

    def reference(x):
        y, indices = torch_pool(x)
        return unpool(torch.tanh(y), indices, output_size=x.shape[2:])
    x = _x()
    _same(module, reference, x, net)
    with torch.no_grad():
        out = module(x)
    assert (out != 0).sum() <= torch_pool(x)[0].numel()   # zeros everywhere the pool did not pick
    assert net.output_type.shape == (C, H, W)


def test_maxunpool_generated_code_returns_the_pools_indices(tmp_path):
    from resdsl.backends import pycode

    net, module = _net("p: maxpool 2x2/2\n  conv 3x3 8\n  maxunpool @p")
    source = pycode.generate(net)
    assert "return_indices=True" in source and "MaxUnpool2d" in source
    generated = pycode.load_source(source)()
    generated.load_state_dict(module.state_dict(), strict=True)
    x = _x()
    with torch.no_grad():
        assert torch.allclose(generated.eval()(x), module(x), atol=1e-6)


def test_spatial_dropout_drops_whole_channels_as_dropout2d():
    net = resdsl.load(f"network one {{\n  input {C}x{H}x{W}\n  dropout 0.5 spatial=true\n}}\n")
    module = resdsl.build(net).train()
    x = _x() + 100   # no zeros of its own
    torch.manual_seed(5)
    ours = module(x)
    torch.manual_seed(5)
    theirs = nn.Dropout2d(0.5).train()(x)
    assert torch.equal(ours, theirs)
    per_channel = (ours == 0).flatten(2).all(-1) | (ours != 0).flatten(2).all(-1)
    assert per_channel.all() and (ours == 0).any()      # each channel all dropped or all kept
    assert torch.equal(module.eval()(x), x)


def test_upconv_output_padding_equals_conv_transpose():
    net, module = _net("upconv 3x3/2 4 pad=1 output_pad=1 bias=true")
    reference = nn.ConvTranspose2d(C, 4, 3, stride=2, padding=1, output_padding=1)
    reference.load_state_dict({k.split(".")[-1]: v for k, v in module.state_dict().items()}, strict=True)
    assert net.output_type.shape == (4, 2 * H, 2 * W)
    _same(module, reference, _x(), net)
