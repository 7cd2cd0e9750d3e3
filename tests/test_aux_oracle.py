"""Aux heads and transform_input against torchvision's own GoogLeNet and Inception-v3 (oracles.py):
counts per head, strict state_dict loads, eval logits, and the training-mode outputs — torchvision's
GoogLeNetOutputs / InceptionOutputs, field for field, with dropout drawing the same masks under one seed.

Inception-v3 with AuxLogits runs at 299x299, the least input its head accepts (Mixed_6e must be 17x17);
GoogLeNet's heads pool adaptively, so 64x64 is enough."""
from __future__ import annotations

import importlib.util

import pytest

from oracles import assert_equal_to_reference, randomise_, spec

torch = pytest.importorskip("torch")

import resdsl  # noqa: E402
from resdsl.backends import pycode  # noqa: E402

pytestmark = pytest.mark.torch

GOOGLENET = (3, 64, 64)
INCEPTION = (3, 299, 299)


def googlenet(models, **kwargs):
    return lambda: models.googlenet(init_weights=True, **kwargs)


def inception(models, **kwargs):
    return lambda: models.inception_v3(init_weights=True, **kwargs)


CASES = {  # spec overrides -> (torchvision builder, its arguments, the logits input)
    "googlenet_aux": ({"aux_logits": True}, googlenet, {"aux_logits": True}, GOOGLENET),
    "googlenet_transform": ({"transform_input": True}, googlenet, {"aux_logits": False, "transform_input": True},
                            GOOGLENET),
    "inception_v3": ({}, inception, {"aux_logits": True}, INCEPTION),
}
SPECS = {"googlenet_aux": "torchvision/googlenet.res", "googlenet_transform": "torchvision/googlenet.res",
         "inception_v3": "torchvision/inception_v3.res"}
HEADS = {"googlenet_aux": ("aux1", "aux2"), "inception_v3": ("AuxLogits",)}


@pytest.fixture(scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _training_forwards(ours, theirs, batch, seed: int):
    """Both modules' training-mode outputs, each forward from the same seed (dropout draws alike)."""
    ours.train(), theirs.train()
    outputs = []
    with torch.no_grad():
        for model in (ours, theirs):
            torch.manual_seed(seed)
            outputs.append(model(batch))
    return outputs


def _paired(torchvision_models, case: str):
    """(our module, torchvision's model, batch) with the same randomised weights and statistics."""
    overrides, builder, kwargs, shape = CASES[case]
    net = spec(SPECS[case], **overrides)
    batch = torch.randn(2, *shape, generator=torch.Generator().manual_seed(1))
    theirs = randomise_(builder(torchvision_models, **kwargs)(), batch)
    ours = resdsl.build(net)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    return net, ours, theirs, batch


@pytest.mark.parametrize("case", sorted(CASES))
def test_equal_to_torchvision_in_evaluation(case, torchvision_models, one_thread):
    """Params, buffers, MACs (FlopCounterMode, eval: the main path), strict load, logits within 1e-5."""
    overrides, builder, kwargs, shape = CASES[case]
    assert_equal_to_reference(spec(SPECS[case], **overrides), builder(torchvision_models, **kwargs), shape)


@pytest.mark.parametrize("case", sorted(HEADS))
def test_training_returns_torchvisions_outputs(case, torchvision_models, one_thread):
    net, ours, theirs, batch = _paired(torchvision_models, case)
    a, b = _training_forwards(ours, theirs, batch, seed=7)
    assert type(a).__name__ == type(b).__name__ and a._fields == b._fields
    for field, x, y in zip(a._fields, a, b):
        assert x.shape == y.shape, field
        assert float((x - y).abs().max()) <= 1e-5 * max(1.0, float(y.abs().max())), field
    # and the running statistics moved alike (the heads' BNs too)
    mine, tv = ours.state_dict(), theirs.state_dict()
    for key in mine:
        if key.endswith("running_mean") and key.split(".")[0] in HEADS[case]:
            assert torch.allclose(mine[key], tv[key], atol=1e-5), key
    # evaluation returns the logits alone and does not run the heads
    ours.eval(), theirs.eval()
    calls = []
    hook = getattr(ours, HEADS[case][0]).register_forward_hook(lambda *args: calls.append(1))
    with torch.no_grad():
        out = ours(batch[:1])
    hook.remove()
    assert isinstance(out, torch.Tensor) and out.shape == (1, 1000) and calls == []


@pytest.mark.parametrize("case", sorted(HEADS))
def test_each_head_counts_as_torchvisions(case, torchvision_models):
    """A head's parameters and buffers are those of torchvision's module of the same name, its MACs what
    FlopCounterMode counts when that module runs on the map it reads."""
    from oracles import flop_counter_macs, meta_parameters

    overrides, builder, kwargs, shape = CASES[case]
    net = spec(SPECS[case], **overrides)
    with meta_parameters():
        theirs = builder(torchvision_models, **kwargs)()
    for head, figures in zip(net.graph.heads, net.totals.heads):
        module = getattr(theirs, head.name)
        assert figures.params == sum(p.numel() for p in module.parameters())
        assert figures.buffers == sum(b.numel() for b in module.buffers())
        source = net.graph.nodes[head.source].type.shape
        macs, _ = flop_counter_macs(module.eval(), torch.empty(1, *source, device="meta"))
        assert figures.macs == macs, head.name
    # and a training pass costs the main path plus every head, as FlopCounterMode counts it
    train_macs, _ = flop_counter_macs(theirs.train(), torch.empty(2, *net.input_type.shape, device="meta"))
    assert net.totals.training_macs * 2 == train_macs


def test_transform_input_is_torchvisions(torchvision_models):
    """The per-channel affine of googlenet's transform_input equals torchvision's `_transform_input`
    bit for bit."""
    model = torchvision_models.googlenet(aux_logits=False, transform_input=True, init_weights=False)
    built = resdsl.build(spec("torchvision/googlenet.res", transform_input=True))
    x = torch.randn(4, 3, 17, 23, generator=torch.Generator().manual_seed(3)) * 3
    first = built.resdsl_network.graph.nodes[1]
    assert first.path == "transform_input" and first.op.kind == "channel_affine"
    from resdsl.backends.runtime import channel_affine

    assert torch.equal(channel_affine(x, first.op.scale, first.op.shift), model._transform_input(x))
    assert not any("transform" in k for k in built.state_dict())


def _generated(net, tmp_path):
    path = tmp_path / f"{net.name}.py"
    path.write_text(pycode.generate(net))
    spec_ = importlib.util.spec_from_file_location(net.name, path)
    module = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(module)
    return module, module.__dict__[module.__all__[0]]()


def test_generated_googlenet_returns_the_same_outputs(torchvision_models, tmp_path, one_thread):
    """`resdsl compile` writes the heads under `if self.training:` and returns GoogLeNetOutputs."""
    net, ours, theirs, batch = _paired(torchvision_models, "googlenet_aux")
    module, generated = _generated(net, tmp_path)
    generated.load_state_dict(theirs.state_dict(), strict=True)
    source = (tmp_path / f"{net.name}.py").read_text()
    assert 'GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])' in source
    assert "if self.training:" in source
    a, b = _training_forwards(generated, theirs, batch, seed=11)
    assert type(a).__name__ == "GoogLeNetOutputs" and a._fields == b._fields
    for x, y in zip(a, b):
        assert float((x - y).abs().max()) <= 1e-5 * max(1.0, float(y.abs().max()))
    generated.eval(), theirs.eval()
    with torch.no_grad():
        assert float((generated(batch) - theirs(batch)).abs().max()) <= 1e-5 * max(1.0, float(theirs(batch).abs().max()))
