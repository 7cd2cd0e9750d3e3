"""Inference lowering: for every shipped spec the folded module's eval logits equal the unfolded one's
(within 1e-4 of the logit scale), its state_dict is the folded one, and what is dropped is dropped.

The weights are cheap but not degenerate: each network is built on the meta device, given memory, its
parameters filled from one random buffer of prime length at shifting offsets (He-scaled; no per-tensor
random draws, so even the 150M-parameter specs cost little), then every BN's statistics are measured on
the test batch and moved off, its affine too.  Inputs are the smallest of a few sizes the network accepts.
"""
from __future__ import annotations

import math
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import resdsl  # noqa: E402
from oracles import SPECS  # noqa: E402
from resdsl.backends.inference_network import inference_network  # noqa: E402
from resdsl.backends.torch import build_module  # noqa: E402
from resdsl.diagnostics import ResdslError  # noqa: E402
from resdsl.pipeline import load as pipeline_load  # noqa: E402

TOLERANCE = 1e-4
SIZES = (64, 96, 128, 160, 224)  # at most the spec's own size
MAX_PARAMS = 200_000_000   # regnet_y_128gf (645M) is checked on the meta device only (see the last test)
SHIPPED = sorted(p for p in SPECS.rglob("*.res") if "families" not in p.parts and "tables" not in p.parts)


def _small(path: Path):
    """The checked network at the smallest input size it accepts (the graph is the same)."""
    c, h, w = resdsl.load(path).input_type.shape
    for size in [s for s in SIZES if s < min(h, w)] + [min(h, w)]:
        try:
            return pipeline_load(path, input_shape=(c, size, size))
        except ResdslError:
            continue
    return resdsl.load(path)


@torch.no_grad()
def _cheap_weights(model: nn.Module) -> None:
    base = torch.randn(1_048_573 + 997, generator=torch.Generator().manual_seed(0))  # a prime period
    for i, p in enumerate(model.parameters()):
        n = p.numel()
        start = (i * 131) % 997  # neighbouring tensors start at different places
        flat = base[start:start + n] if n <= base.numel() - start else base[start:].repeat(n // (base.numel() - start) + 1)[:n]
        p.copy_(flat.view_as(p))
        if p.dim() > 1:
            p.mul_(math.sqrt(2.0 / p[0].numel()))   # He scale: activations stay in range


def _models(path: Path):
    net = _small(path)
    with torch.device("meta"):
        model = build_module(net)
    model.to_empty(device="cpu")
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
    _cheap_weights(model)
    x = torch.randn(4, *net.input_type.shape, generator=torch.Generator().manual_seed(1))
    _move_statistics(model, x)
    return net, model, x


@torch.no_grad()
def _move_statistics(model: nn.Module, x: torch.Tensor) -> None:
    """Every BN's running statistics measured on `x` (one train-mode forward), then moved: means by 0.1
    standard deviations, variances by a factor in [0.8, 1.25]; affines off (1, 0).  Off the identity, so
    folding has work to do, but mildly: a deep plain net or a squeeze-excitation one amplifies
    oracles.randomise_'s larger moves until float32 itself differs from float64 by 1e-4."""
    g = torch.Generator().manual_seed(2)
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.momentum = None
        m.reset_running_stats()
        if m.affine:  # first: the statistics downstream are measured with them
            m.weight.copy_(torch.rand(m.weight.shape, generator=g) * 0.45 + 0.8)
            m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
    model.eval()
    for m in norms:  # only the BNs in training mode: drop-path and dropout stay as at test time
        m.train()
    model(x)
    for m in norms:
        m.momentum = 0.1
        var = m.running_var.clamp_(min=0.25 * float(m.running_var.mean()))
        m.running_mean.add_(torch.randn(var.shape, generator=g) * 0.1 * var.sqrt())
        var.mul_(torch.rand(var.shape, generator=g) * 0.45 + 0.8)
    model.eval()


def _fold_error(model: nn.Module, x: torch.Tensor) -> tuple[float, nn.Module]:
    with torch.no_grad():
        ref = model.eval()(x)
        folded = resdsl.fold(model)
        out = folded(x)
    scale = float(ref.abs().max())
    assert torch.isfinite(ref).all() and scale > 0
    return float((out - ref).abs().max()) / max(scale, 1.0), folded


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(SPECS)))
def test_folded_logits_equal_the_unfolded_ones(path):
    """In float32 (what users run); where that misses, in float64 on one image.  A deep plain net or an
    EfficientNetV2 at these weights amplifies float32's own rounding past 1e-4 folded or not (its float32
    logits differ from its float64 ones by as much), while folding itself is exact algebra."""
    torch.set_num_threads(1)
    if resdsl.load(path).params > MAX_PARAMS:
        pytest.skip("over 200M parameters: checked on the meta device (test_the_largest_spec_folds_on_meta)")
    net, model, x = _models(path)
    x = x[:2]  # the statistics were measured on four images; two tell as much here
    error, folded = _fold_error(model, x)
    if error > TOLERANCE:
        with torch.no_grad():
            noise = float((model(x[:1]).double() - model.double()(x[:1].double())).abs().max())
        assert noise > TOLERANCE * max(float(model(x[:1].double()).abs().max()), 1.0) / 10, \
            f"float32 folding missed by {error:.2e} though float32 itself is accurate here"
        error, folded = _fold_error(model, x[:1].double())
        assert error <= TOLERANCE
    assert not folded.training
    lowering = inference_network(net)
    gone = {f"{f.bn}.{k}" for f in lowering.folds
            for k in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")}
    dead = {n.path for n in net.graph.nodes if n.op.is_layer} - {n.path for n in lowering.network.graph.nodes}
    expected = [k for k in model.state_dict() if k not in gone and not any(k.startswith(p + ".") for p in dead)]
    expected += [f"{f.layer}.bias" for f in lowering.folds if not f.had_bias]
    assert sorted(folded.state_dict()) == sorted(expected)


@pytest.mark.parametrize("spec", ["cifar/resnet20", "torchvision/resnet50", "torchvision/densenet121",
                                  "torchvision/googlenet", "torchvision/vgg16_bn", "torchvision/mobilenet_v2",
                                  "torchvision/efficientnet_b0", "torchvision/convnext_tiny"])
def test_folded_logits_in_float32(spec):
    """What users run: float32 folded against float32 unfolded, within 1e-4 of the logit scale."""
    torch.set_num_threads(1)
    _, model, x = _models(SPECS / f"{spec}.res")
    error, _ = _fold_error(model, x)
    assert error <= TOLERANCE


def test_what_is_folded_and_dropped():
    text = """
network m {
  input 3x16x16
  stem conv 3x3 8, bn, relu
  residual { conv1: conv 3x3 8, bn1: bn, relu, dropout 0.3, conv2: conv 3x3 8, bn2: bn, droppath 0.5 mode=row }
  relu
  pre: { bn, relu, conv 1x1 8 }
  gap, flatten, fc 16, bn, dropout 0.5, fc 10
}"""
    net = resdsl.loads(text)
    lowered = inference_network(net)
    by_path = {n.path: n.op for n in net.graph.nodes}
    assert [type(by_path[f.layer]).__name__ for f in lowered.folds] == ["Conv", "Conv", "Conv", "Linear"]
    assert [f.layer for f in lowered.folds][1:3] == ["conv1", "conv2"]
    kinds = [type(n.op).__name__ for n in lowered.network.graph.nodes]
    assert "Dropout" not in kinds and "DropPath" not in kinds
    assert kinds.count("BatchNorm") == 1   # pre.0 reads a relu's output: nothing to fold it into
    # The folded BNs' weights and biases (8 + 8 + 8 + 16 channels) go; the three convs gain biases (the fc
    # had one already).
    assert lowered.network.params == net.params - 2 * (8 + 8 + 8 + 16) + 3 * 8
    torch.manual_seed(0)
    model = resdsl.build(text, inference=True)
    assert not model.training and "1.running_mean" not in model.state_dict() and "0.bias" in model.state_dict()


def test_paper_drop_path_becomes_its_test_time_scale():
    text = """
network m {
  input 3x8x8
  conv1: conv 3x3 4, bn1: bn
  residual { conv 3x3 4, droppath 0.25 }
}"""
    torch.manual_seed(0)
    model = resdsl.build(text).eval()
    folded = resdsl.fold(model)
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        assert torch.allclose(folded(x), model(x), atol=1e-6)
    assert any(type(m).__name__ == "Scale" for m in folded.modules())


def test_folding_trained_weights_is_what_users_do():
    torch.manual_seed(0)
    model = resdsl.build(SPECS / "cifar" / "resnet20.res")
    x = torch.randn(4, 3, 32, 32)
    model.train()(x)                      # running statistics move away from (0, 1)
    model.eval()
    folded = resdsl.fold(model)
    with torch.no_grad():
        assert torch.allclose(folded(x), model(x), rtol=0, atol=1e-4 * float(model(x).abs().max()))
    assert folded.state_dict()["conv1.weight"].data_ptr() != model.state_dict()["conv1.weight"].data_ptr()


def test_a_module_changed_after_build_is_refused_with_a_hint():
    model = resdsl.build(SPECS / "cifar" / "resnet20.res")
    model.fc = nn.Linear(64, 3)
    with pytest.raises(resdsl.UsageError) as err:
        resdsl.fold(model)
    assert "do not fit" in err.value.message and "before replacing" in err.value.hint
    with pytest.raises(resdsl.UsageError):
        resdsl.fold(nn.Linear(2, 2))


def test_the_largest_spec_folds_on_meta():
    net = resdsl.load(SPECS / "torchvision" / "regnet_y_128gf.res")
    with torch.device("meta"):
        model = build_module(net)
        folded = resdsl.fold(model)
    lowering = inference_network(net)
    assert lowering.folds and sum(p.numel() for p in folded.parameters()) == lowering.network.params


def test_compile_inference_writes_the_folded_network(tmp_path, capsys):
    from resdsl.backends import pycode
    from resdsl.cli import main

    out = tmp_path / "r20.py"
    assert main(["compile", str(SPECS / "cifar" / "resnet20.res"), "--inference", "--check", "-o", str(out)]) == 0
    assert "MISMATCH" not in capsys.readouterr().out
    torch.manual_seed(0)
    model = resdsl.build(SPECS / "cifar" / "resnet20.res")
    x = torch.randn(3, 3, 32, 32)
    model.train()(x)
    folded = resdsl.fold(model.eval(), channels_last=False)  # the same layout: the same kernels, equal outputs
    generated = pycode.load_source(out.read_text())()
    generated.load_state_dict(folded.state_dict(), strict=True)
    with torch.no_grad():
        assert torch.equal(generated.eval()(x), folded(x))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in generated.modules())
