"""The PyTorch back end: every spec builds to a module whose shapes, parameters and FLOPs are the IR's;
torchvision layouts and numerics; train/eval semantics of every op; GPU-readiness on CPU."""
from __future__ import annotations

import copy
import io
import shutil
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import resdsl  # noqa: E402
from resdsl.backends.torch import (DropPath, build_module, center_crop, count_flops, example_input,  # noqa: E402
                                   gated_sum, zero_pad_shortcut)
from resdsl.diagnostics import ResdslError, UsageError  # noqa: E402
from resdsl.ir import ops  # noqa: E402
from resdsl.pipeline import check_program, choose_network, load_program  # noqa: E402
from reference_resnet import HAND_WRITTEN, ResNet  # noqa: E402
from references import reference_of_spec  # noqa: E402

pytestmark = pytest.mark.torch

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted(p for p in (ROOT / "specs").rglob("*.res") if "tables" not in p.relative_to(ROOT / "specs").parts)
# Above this many MACs per image a real CPU forward costs seconds; those are measured on the meta device.
REAL_FORWARD_MACS = 0.6e9

MINI_UNET = """
network mini_unet {
  input 1x44x44
  enc1: double_conv 8
  bottom: { maxpool 2x2/2, double_conv 16 }
  dec1: unet_up(8, @enc1)
  head out: conv 1x1 2 bias=true
}
"""


def _load(path: Path) -> resdsl.Network:
    program = load_program(path)
    try:
        name = choose_network(program, None)
    except UsageError as err:
        pytest.skip(f"{path.name}: {err.message}")
    return check_program(program, name)


def _spec(rel: str, **overrides) -> resdsl.Network:
    return resdsl.load(ROOT / "specs" / rel, **overrides)


def _randomize_bn(module: nn.Module, seed: int = 0) -> None:
    """Non-trivial running statistics, so eval mode visibly uses them."""
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)


# ---- every spec: the built module measures what the IR says ------------------------------------------


@pytest.mark.parametrize("path", SPECS, ids=lambda p: str(p.relative_to(ROOT / "specs")))
def test_every_spec_builds_with_the_ir_shapes_params_and_flops(path):
    net = _load(path)
    # The meta device runs the same dispatcher (so FlopCounterMode counts the same) without computing.
    with torch.device("meta"):
        model = build_module(net).eval()
        x = example_input(model, batch=1)
        flops = count_flops(model, x)
        out = model(x)
    assert tuple(out.shape) == (1, *net.output_type.shape)
    assert sum(p.numel() for p in model.parameters()) == net.params
    assert flops == net.flops
    assert sum(b.numel() for b in model.buffers()) == net.totals.buffers
    if net.macs <= REAL_FORWARD_MACS:
        model = build_module(net).eval()
        with torch.no_grad():
            real = model(example_input(model, batch=1))
        assert tuple(real.shape) == (1, *net.output_type.shape)
        assert torch.isfinite(real).all()


def test_every_block_frees_each_of_its_values_exactly_once_after_its_last_reader():
    from resdsl.backends.torch import Block

    model = build_module(_spec("torchvision/googlenet.res"))
    blocks = [m for m in model.modules() if isinstance(m, Block)]
    assert len(blocks) == 10  # the network and its nine inception blocks
    for block in blocks:
        freed: dict[int, int] = {}
        readers: dict[int, int] = {}
        made = set(range(block._inputs))
        for step, (path, fn, flatten, args, out, dead) in enumerate(block._steps):
            assert (path is None) != (fn is None) and all(i in made for i in args)
            made.add(out)
            for i in args:
                readers[i] = step
            for i in dead:
                assert i not in freed and (i in args or i == out)
                freed[i] = step
        assert set(freed) == set(range(block._slots)) - {block._output}
        assert all(freed[i] == readers.get(i, freed[i]) for i in freed)


def test_module_tree_is_readable_and_exposes_the_network():
    net = _spec("torchvision/resnet18.res")
    model = resdsl.build(net)
    assert model.resdsl_network is net
    assert model.input_shape == (3, 224, 224) and model.output_shape == (1000,)
    text = repr(model)
    for fragment in ("(layer2): Sequential(", "(downsample): Sequential(", "(conv1): Conv2d(64, 128, kernel_size=(3, 3)",
                     "(fc): Linear(in_features=512, out_features=1000"):
        assert fragment in text
    assert isinstance(model.get_submodule("layer3.1.bn2"), nn.BatchNorm2d)


def test_labels_that_shadow_module_attributes_are_refused():
    for label in ("forward", "training", "input_shape"):
        with pytest.raises(ResdslError, match=f"label '{label}'.*clashes"):
            resdsl.build(f"network t {{\n  input 3x8x8\n  {label}: conv 3x3 4\n}}\n")


# ---- torchvision layouts and numerics ----------------------------------------------------------------

TORCHVISION = sorted((ROOT / "specs/torchvision").glob("*.res"))


@pytest.mark.parametrize("path", TORCHVISION, ids=lambda p: p.stem)
def test_state_dict_layout_equals_torchvision_and_loads_strictly(path):
    reference = reference_of_spec(path.stem)["state_dict"]
    net = resdsl.load(path)
    with torch.device("meta"):
        model = build_module(net)
    layout = [(k, list(v.shape)) for k, v in model.state_dict().items()]
    assert layout == [(k, list(shape)) for k, shape in reference]  # same keys, same order, same shapes
    # A checkpoint with torchvision's layout loads with strict=True (meta tensors: no memory needed).
    checkpoint = {k: torch.empty(shape, device="meta", dtype=torch.long if k.endswith("num_batches_tracked")
                                 else torch.float32) for k, shape in reference}
    result = model.load_state_dict(checkpoint, strict=True, assign=True)
    assert not result.missing_keys and not result.unexpected_keys


def test_a_wrong_checkpoint_is_refused_strictly():
    model = resdsl.build(_spec("torchvision/resnet18.res"))
    state = model.state_dict()
    state.pop("layer1.0.bn1.running_var")
    with pytest.raises(RuntimeError, match="layer1.0.bn1.running_var"):
        model.load_state_dict(state, strict=True)


# tests/reference_resnet.py is a torchvision-style ResNet written by hand: the compiled networks must
# agree with it weight for weight and logit for logit.


@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
def test_same_weights_give_the_logits_and_gradients_of_a_hand_written_torchvision_resnet(name):
    torch.manual_seed(0)
    ours = resdsl.build(ROOT / f"specs/torchvision/{name}.res")
    block, layers = HAND_WRITTEN[name]
    theirs = ResNet(block, layers)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _randomize_bn(theirs)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(2, 3, 224, 224)
    ours.eval(), theirs.eval()
    with torch.no_grad():
        a, b = ours(x), theirs(x)
    assert a.shape == (2, 1000)
    assert torch.allclose(a, b, rtol=1e-5, atol=1e-5)
    # Training mode: batch statistics, in-place ReLU and `+=` under autograd, same gradients.
    ours.train(), theirs.train()
    small = torch.randn(2, 3, 64, 64)
    ours(small).square().mean().backward()
    theirs(small).square().mean().backward()
    for (k, p), q in zip(ours.named_parameters(), theirs.parameters()):
        assert torch.allclose(p.grad, q.grad, rtol=1e-4, atol=1e-6), k
    assert torch.equal(ours.state_dict()["bn1.running_mean"], theirs.state_dict()["bn1.running_mean"])


# ---- op semantics ------------------------------------------------------------------------------------


def test_drop_path_keeps_or_drops_the_whole_batch_in_training_and_scales_in_eval():
    torch.manual_seed(0)
    x = torch.randn(4, 3, 5, 5)
    layer = DropPath(0.7)
    kept = 0
    for _ in range(400):
        y = layer(x)
        if torch.equal(y, x):
            kept += 1
        else:
            assert torch.count_nonzero(y) == 0  # one draw per mini-batch: all of it goes
    assert 0.62 < kept / 400 < 0.78  # Bernoulli(0.7); 4.8 standard deviations wide
    layer.eval()
    assert torch.allclose(layer(x), 0.7 * x)
    assert DropPath(1.0).train()(x) is x and DropPath(1.0).eval()(x) is x


def test_stochastic_depth_network_decays_survival_linearly_and_is_random_only_in_training():
    net = _spec("cifar/resnet110_stochastic_depth.res", depth=20)
    model = resdsl.build(net)
    survivals = [m.survival for m in model.modules() if isinstance(m, DropPath)]
    assert len(survivals) == 9 and survivals[-1] == pytest.approx(0.5)
    assert survivals == pytest.approx([1 - (l / 9) * 0.5 for l in range(1, 10)])
    x = torch.randn(2, 3, 32, 32)
    torch.manual_seed(1)
    outs = [model(x) for _ in range(3)]
    assert not all(torch.equal(outs[0], o) for o in outs[1:])
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), model(x))


def test_zero_pad_shortcut_subsamples_then_appends_zero_channels():
    x = torch.randn(2, 16, 8, 8)
    y = zero_pad_shortcut(x, 32, 2)
    assert y.shape == (2, 32, 4, 4)
    assert torch.equal(y[:, :16], x[:, :, ::2, ::2])
    assert torch.count_nonzero(y[:, 16:]) == 0
    assert zero_pad_shortcut(x, 16, (1, 1)) is x or torch.equal(zero_pad_shortcut(x, 16, (1, 1)), x)


def test_option_a_network_has_no_shortcut_parameters():
    a = resdsl.build(_spec("cifar/resnet20.res"))
    plain = resdsl.build(_spec("cifar/plain20.res"))
    assert sum(p.numel() for p in a.parameters()) == sum(p.numel() for p in plain.parameters()) == 269_722
    assert not any("downsample" in k or "zeropad" in k for k in a.state_dict())


def test_center_crop_takes_the_middle():
    x = torch.arange(7 * 9, dtype=torch.float32).reshape(1, 1, 7, 9)
    y = center_crop(x, (4, 5))
    assert torch.equal(y, x[:, :, 1:5, 2:7])  # offsets (7-4)//2 = 1 and (9-5)//2 = 2
    assert center_crop(x, 3).shape == (1, 1, 3, 3)


def test_mini_unet_crops_and_concatenates():
    net = resdsl.load(MINI_UNET)
    assert any(isinstance(n.op, ops.Crop) for n in net.graph.nodes)
    model = resdsl.build(net).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 1, 44, 44)).shape == (2, 2, 28, 28)


def test_highway_gate_chooses_between_transform_and_carry():
    assert torch.equal(gated_sum(torch.ones(1), torch.zeros(1), torch.tensor([0.25])), torch.tensor([0.25]))
    model = resdsl.build(_spec("other/highway.res", n=1)).eval()
    block = model.get_submodule("stage1.0")
    x = torch.randn(2, 32, 8, 8)
    fn = block  # a block is a module of its own: callable alone
    with torch.no_grad():
        block.gate.weight.zero_()
        block.gate.bias.fill_(30.0)  # gate open: y = H(x) = relu(conv(x))
        assert torch.allclose(fn(x), torch.relu(block.conv(x)), atol=1e-6)
        block.gate.bias.fill_(-30.0)  # gate shut: y = x, carried unchanged
        assert torch.allclose(fn(x), x, atol=1e-6)


def test_dropout_and_batchnorm_follow_train_and_eval():
    model = resdsl.build(_spec("cifar/wrn16_4_dropout.res"))
    x = torch.randn(4, 3, 32, 32)
    torch.manual_seed(0)
    a, b = model(x), model(x)
    assert not torch.equal(a, b)  # dropout draws new masks
    bn = model.get_submodule("bn1")
    assert int(bn.num_batches_tracked) == 2
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), model(x))
    assert int(bn.num_batches_tracked) == 2  # eval leaves the statistics alone


def test_in_place_ops_never_overwrite_a_value_that_is_read_again():
    relu_and_keep = "network t {\n  input 3x8x8\n  c: conv 3x3 4\n  concat {\n    relu\n    identity\n  }\n}\n"
    add_and_keep = ("network t {\n  input 3x8x8\n  c: conv 3x3 4\n  concat {\n    add {\n      identity\n"
                    "      d: conv 3x3 4\n    }\n    identity\n  }\n}\n")
    x = torch.randn(2, 3, 8, 8)
    for text, first_half in ((relu_and_keep, lambda m, c: torch.relu(c)), (add_and_keep, lambda m, c: c + m.d(c))):
        model = resdsl.build(text)
        y = model(x)
        with torch.no_grad():
            c = model.c(x)
        assert (c < 0).any()
        assert torch.allclose(y[:, 4:], c) and torch.allclose(y[:, :4], first_half(model, c))
        y.sum().backward()  # and autograd finds nothing overwritten


def test_fc_on_a_feature_map_flattens_it():
    model = resdsl.build("network t {\n  input 3x8x8\n  c: conv 3x3 4\n  fc: fc 10\n}\n")
    assert model.fc.in_features == 4 * 8 * 8
    assert model(torch.randn(2, 3, 8, 8)).shape == (2, 10)


def test_deepcopy_and_pickle_keep_a_working_independent_module():
    model = resdsl.build(_spec("cifar/resnet20.res", depth=8)).eval()
    x = torch.randn(2, 3, 32, 32)
    twin = copy.deepcopy(model)
    with torch.no_grad():
        assert torch.equal(twin(x), model(x))
        twin.fc.bias.add_(1.0)
        assert torch.allclose(twin(x), model(x) + 1.0, atol=1e-5)  # the copy's plan calls the copy's layers
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))


# ---- GPU-readiness, exercised on the CPU ---------------------------------------------------------------

MEMORY_FORMAT_SPECS = {"resnet20 (zero-pad)": lambda: _spec("cifar/resnet20.res"),
                       "densenet40 (concat)": lambda: _spec("cifar/densenet40_k12.res"),
                       "mini_unet (crop)": lambda: resdsl.load(MINI_UNET),
                       "se_resnet20 (mul)": lambda: _spec("examples/se_resnet_cifar.res"),
                       "highway (gate)": lambda: _spec("other/highway.res", n=1)}


@pytest.mark.parametrize("name", sorted(MEMORY_FORMAT_SPECS))
def test_channels_last_gives_the_same_outputs(name):
    torch.manual_seed(0)
    model = resdsl.build(MEMORY_FORMAT_SPECS[name]()).eval()
    x = example_input(model, batch=2)
    with torch.no_grad():
        expected = model(x)
        model = model.to(memory_format=torch.channels_last)
        assert model.get_submodule(next(k for k, m in model.named_modules() if isinstance(m, nn.Conv2d))) \
            .weight.is_contiguous(memory_format=torch.channels_last)
        got = model(x.to(memory_format=torch.channels_last))
    assert torch.allclose(got, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["resnet20 (zero-pad)", "mini_unet (crop)"])
def test_bfloat16_autocast_on_cpu(name):
    torch.manual_seed(0)
    model = resdsl.build(MEMORY_FORMAT_SPECS[name]()).eval()
    x = example_input(model, batch=2)
    with torch.no_grad():
        reference = model(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = model(x)
    assert low.dtype == torch.bfloat16
    error = (low.float() - reference).norm() / reference.norm()
    assert error < 0.05


def test_torch_compile_inductor_matches_eager():
    if shutil.which("gcc") is None and shutil.which("cc") is None:
        pytest.skip("torch.compile's inductor needs a C compiler; none is on PATH")
    torch.manual_seed(0)
    model = resdsl.build(_spec("cifar/resnet20.res", depth=8)).eval()  # small: compile time grows with size
    x = torch.randn(2, 3, 32, 32)
    compiled = torch.compile(model, fullgraph=True)  # fullgraph: the plan loop traces without a break
    with torch.no_grad():
        assert torch.allclose(compiled(x), model(x), rtol=1e-4, atol=1e-5)


def test_torch_compile_traces_a_training_step_with_drop_path_in_one_graph():
    torch.manual_seed(0)
    model = resdsl.build(_spec("cifar/resnet110_stochastic_depth.res", depth=8)).train()
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
    loss = compiled(torch.randn(2, 3, 32, 32)).square().mean()
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_a_module_moves_between_devices_and_dtypes():
    model = resdsl.build(_spec("cifar/resnet20.res", depth=8)).to(torch.float64).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 32, 32, dtype=torch.float64)).dtype == torch.float64
    model.to("meta")
    assert all(p.device.type == "meta" for p in model.parameters())


cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@cuda
@pytest.mark.cuda
def test_cuda_amp_channels_last_matches_cpu():
    torch.manual_seed(0)
    model = resdsl.build(_spec("cifar/resnet20.res")).eval()
    x = torch.randn(8, 3, 32, 32)
    with torch.no_grad():
        expected = model(x)
        gpu = model.to("cuda", memory_format=torch.channels_last)
        with torch.autocast("cuda", dtype=torch.float16):
            got = gpu(x.to("cuda", memory_format=torch.channels_last))
    assert got.dtype == torch.float16
    assert (got.float().cpu() - expected).norm() / expected.norm() < 0.02


@cuda
@pytest.mark.cuda
def test_cuda_training_step():
    model = resdsl.build(_spec("cifar/resnet110_stochastic_depth.res", depth=8)).to("cuda")
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = nn.functional.cross_entropy(model(torch.randn(4, 3, 32, 32, device="cuda")),
                                       torch.tensor([0, 1, 2, 3], device="cuda"))
    loss.backward()
    opt.step()
    assert torch.isfinite(loss)
