"""The CIFAR and paper families start as their authors' released code does (cited in each spec's
comment and in docs/compile.md).  There is no oracle to compare tensors with (Lua Torch and Caffe), so
these tests check the distribution facts: every big conv's and fc's std against the rule's formula, the
bounds of uniform draws, and the constants (BN weights 1 or uniform on [0, 1), biases 0)."""
from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

import resdsl  # noqa: E402
from oracles import SPECS  # noqa: E402

BIG = 20_000  # elements: a std estimated from this many draws is within ~0.5% (we allow 5%)

# spec (and overrides) -> (conv rule, bn rule, fc rule), as in the authors' code:
#   he_out  normal(0, sqrt(2 / (k*k*out)))       fb.resnet.torch's ConvInit and its copies
#   he_in   normal(0, sqrt(2 / (k*k*in/groups))) nninit.kaiming (Stochastic Depth)
#   caffe   uniform(+-sqrt(3 / fan_in))          Caffe's xavier filler (FractalNet)
#   ones    weight 1, bias 0;  unit  weight uniform on [0, 1), bias 0 (Torch7's BN reset())
#   torch0  Torch7's / PyTorch's default weight, uniform(+-1 / sqrt(fan_in)), bias 0;  torch  both default
CASES = [
    ("cifar/resnet20.res", {}, ("he_out", "ones", "torch0")),
    ("cifar/resnet20.res", {"shortcut": "B"}, ("he_out", "ones", "torch0")),
    ("cifar/preact_resnet110.res", {}, ("he_out", "ones", "torch0")),
    ("cifar/densenet40_k12.res", {}, ("he_out", "ones", "torch0")),
    ("cifar/resnext29_8x64d.res", {"cardinality": 4, "d": 8}, ("he_out", "ones", "torch0")),
    ("cifar/wrn16_4.res", {}, ("he_out", "unit", "torch0")),
    ("cifar/resnet110_stochastic_depth.res", {"depth": 20}, ("he_in", "unit", "torch")),
    ("cifar/fractalnet20.res", {"columns": 2}, ("caffe", "ones", "caffe")),
    ("paper/resnet18.res", {}, ("he_out", "ones", "torch0")),
]


def _fans(w: torch.Tensor) -> tuple[int, int]:
    receptive = w[0, 0].numel() if w.dim() > 2 else 1
    return w.shape[1] * receptive, w.shape[0] * receptive


def _check_weight(name: str, w: torch.Tensor, rule: str) -> None:
    fan_in, fan_out = _fans(w)
    if rule in ("he_out", "he_in"):
        expected = math.sqrt(2 / (fan_out if rule == "he_out" else fan_in))
        if w.numel() >= BIG:
            assert abs(float(w.std()) / expected - 1) < 0.05, (name, float(w.std()), expected)
    else:  # uniform on +-bound
        bound = math.sqrt(3 / fan_in) if rule == "caffe" else 1 / math.sqrt(fan_in)
        assert float(w.abs().max()) <= bound * (1 + 1e-6), name
        if w.numel() >= BIG:
            assert abs(float(w.std()) / (bound / math.sqrt(3)) - 1) < 0.05, (name, float(w.std()))


@pytest.mark.parametrize("path, overrides, rules", CASES)
def test_a_family_starts_as_its_authors_code(path, overrides, rules):
    conv_rule, bn_rule, fc_rule = rules
    torch.manual_seed(0)
    model = resdsl.build(resdsl.load(SPECS / path, **overrides))
    checked = {"conv": 0, "big conv": 0, "bn": 0, "fc": 0}
    bn_weights = []
    for name, m in model.named_modules():
        if isinstance(m, torch.nn.Conv2d):
            _check_weight(name, m.weight, conv_rule)
            checked["conv"] += 1
            checked["big conv"] += m.weight.numel() >= BIG
            if m.bias is not None:
                assert float(m.bias.abs().max()) == 0.0, name
        elif isinstance(m, torch.nn.BatchNorm2d):
            assert float(m.bias.abs().max()) == 0.0, name
            if bn_rule == "ones":
                assert bool(torch.all(m.weight == 1)), name
            bn_weights.append(m.weight.detach().flatten())
            checked["bn"] += 1
        elif isinstance(m, torch.nn.Linear):
            _check_weight(name, m.weight, "torch" if fc_rule.startswith("torch") else fc_rule)
            if fc_rule != "torch":
                assert float(m.bias.abs().max()) == 0.0, name
            else:  # PyTorch's (and Torch7's) default bias: uniform(+-1 / sqrt(fan_in)), not zero
                assert float(m.bias.abs().max()) > 0.0
            checked["fc"] += 1
    assert checked["big conv"] > 0 and checked["bn"] > 0 and checked["fc"] == 1, checked
    if bn_rule == "unit":
        weights = torch.cat(bn_weights)
        assert float(weights.min()) >= 0.0 and float(weights.max()) < 1.0
        assert abs(float(weights.mean()) - 0.5) < 0.05 and weights.numel() > 500


def test_the_two_he_rules_are_told_apart():
    # The checks above could not pass for the wrong fan: at a stage transition fan_out = 2 fan_in.
    torch.manual_seed(0)
    model = resdsl.build(resdsl.load(SPECS / "cifar/resnet110_stochastic_depth.res", depth=20))
    w = dict(model.named_parameters())["layer3.0.conv1.weight"]  # 32 -> 64 channels
    fan_in, fan_out = _fans(w)
    assert fan_out == 2 * fan_in
    assert abs(float(w.std()) / math.sqrt(2 / fan_in) - 1) < 0.05
    assert abs(float(w.std()) / math.sqrt(2 / fan_out) - 1) > 0.3


def test_alexnet_starts_as_the_paper_says():
    # Sec. 5: every weight from N(0, 0.01); biases 1 in conv2, conv4, conv5, fc6, fc7, else 0.
    torch.manual_seed(0)
    params = dict(resdsl.build(resdsl.load(SPECS / "paper/alexnet.res")).named_parameters())
    ones = {"features.conv2", "features.conv4", "features.conv5", "classifier.fc6", "classifier.fc7"}
    layers = sorted(k[:-len(".weight")] for k in params if k.endswith(".weight"))
    assert len(layers) == 8 and ones < set(layers)
    for layer in layers:
        w, b = params[layer + ".weight"], params[layer + ".bias"]
        if w.numel() >= BIG:
            assert abs(float(w.std()) / 0.01 - 1) < 0.05, layer
        assert bool(torch.all(b == (1.0 if layer in ones else 0.0))), layer


# ---- NIN, the Torch7 nets (BN-NIN, BN-AlexNet, ENet) and TF-Slim's Inception-v4 / Inception-ResNet-v2 ----


F32 = 1 + 1e-6  # a bound computed in float64 holds to float32 rounding


def _modules(path: str, **overrides):
    torch.manual_seed(0)
    return list(resdsl.build(resdsl.load(SPECS / path, **overrides)).named_modules())


def test_nin_starts_as_its_cuda_convnet_definition():
    # mavenlin/cuda-convnet NIN/cifar-10_def: initW=0.05 everywhere (weights 0.05 * randn), initB=0.
    convs = [(n, m) for n, m in _modules("cifar/nin.res") if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 9
    for name, m in convs:
        if m.weight.numel() >= BIG:
            assert abs(float(m.weight.std()) / 0.05 - 1) < 0.05, name
        assert bool(torch.all(m.bias == 0)), name
    assert sum(m.weight.numel() >= BIG for _, m in convs) >= 5


def _check_torch7_bn(bns) -> None:
    # Torch7's BatchNormalization reset(): weight uniform(0, 1), bias 0.
    assert bns and all(bool(torch.all(m.bias == 0)) for m in bns)
    weights = torch.cat([m.weight.detach().flatten() for m in bns])
    assert float(weights.min()) >= 0.0 and float(weights.max()) < 1.0 and weights.numel() > 500
    assert abs(float(weights.mean()) - 0.5) < 0.05 and abs(float(weights.std()) - 12 ** -0.5) < 0.02


@pytest.mark.parametrize("path", ["paper/bn_nin.res", "paper/bn_alexnet.res"])
def test_the_imagenet_multigpu_nets_start_from_torch7s_reset(path):
    # models/ninbn.lua and alexnetowtbn_cudnn.lua set nothing: convs and Linears keep Torch7's reset()
    # (weight and bias uniform(+-1 / sqrt(fan_in)), PyTorch's default too), BNs Torch7's BN reset().
    modules = _modules(path)
    bns = [m for _, m in modules if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d))]
    _check_torch7_bn(bns)
    if path.endswith("bn_alexnet.res"):
        assert any(isinstance(m, torch.nn.BatchNorm1d) for m in bns)  # the fc BNs too
    layers = [(n, m) for n, m in modules if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    for name, m in layers:
        bound = 1 / math.sqrt(_fans(m.weight)[0])
        assert float(m.weight.abs().max()) <= bound * F32 and float(m.bias.abs().max()) <= bound * F32, name
        assert float(m.bias.abs().max()) > 0, name  # not zeroed: Torch7 draws biases too


def test_enet_starts_from_torch7s_reset():
    modules = dict(_modules("paper/enet.res", height=64, width=64))
    _check_torch7_bn([m for m in modules.values() if isinstance(m, torch.nn.BatchNorm2d)])
    prelus = [m for m in modules.values() if isinstance(m, torch.nn.PReLU)]
    assert prelus and all(bool(torch.all(m.weight == 0.25)) for m in prelus)
    upconvs = {n: m for n, m in modules.items() if isinstance(m, torch.nn.ConvTranspose2d)}
    assert len(upconvs) == 3
    for name, m in upconvs.items():
        c_in, _, kh, kw = m.weight.shape  # Torch7's SpatialFullConvolution: +-1 / sqrt(kW * kH * nInputPlane)
        bound = 1 / math.sqrt(c_in * kh * kw)
        assert float(m.weight.abs().max()) <= bound * F32 and float(m.weight.abs().max()) > 0.9 * bound, name
    # fullconv (16 -> 19, 2x2): Torch7's bound 1/8, wider than PyTorch's default 1 / sqrt(19 * 4)
    assert float(upconvs["fullconv"].weight.abs().max()) > 1 / math.sqrt(19 * 4)


def _check_scaleless_bns(modules) -> None:
    bns = [m for _, m in modules if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(bns) > 100 and all(bool(torch.all(m.weight == 1)) and bool(torch.all(m.bias == 0)) for m in bns)


def test_inception_v4_starts_as_tf_slims_inception_arg_scope():
    # slim.variance_scaling_initializer(): truncated_normal(0, sqrt(1.3 * 2 / fan_in)), redrawn beyond 2
    # stddev; BN without gamma (1) and beta 0; Logits xavier_initializer() (glorot uniform), bias 0.
    modules = _modules("paper/inception_v4.res", resolution=75)
    convs = [(n, m) for n, m in modules if isinstance(m, torch.nn.Conv2d)]
    big = 0
    for name, m in convs:
        stddev = math.sqrt(1.3 * 2 / _fans(m.weight)[0])
        assert float(m.weight.abs().max()) <= 2 * stddev * F32 and m.bias is None, name
        if m.weight.numel() >= BIG:
            assert abs(float(m.weight.std()) / (stddev * 0.87962566103423978) - 1) < 0.03, name
            big += 1
    assert big > 100
    _check_scaleless_bns(modules)
    (fc,) = [m for _, m in modules if isinstance(m, torch.nn.Linear)]
    fan_in, fan_out = _fans(fc.weight)
    limit = math.sqrt(6 / (fan_in + fan_out))
    assert float(fc.weight.abs().max()) <= limit * F32
    assert abs(float(fc.weight.std()) / (limit / math.sqrt(3)) - 1) < 0.03
    assert bool(torch.all(fc.bias == 0))


def test_inception_resnet_v2_keeps_slims_layer_defaults():
    # inception_resnet_v2_arg_scope sets no weights_initializer: conv2d's and fully_connected's default,
    # xavier_initializer() (uniform +-sqrt(6 / (fan_in + fan_out))), zero biases (the projections').
    modules = _modules("paper/inception_resnet_v2.res", resolution=75)
    with_bias = 0
    for name, m in modules:
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            fan_in, fan_out = _fans(m.weight)
            limit = math.sqrt(6 / (fan_in + fan_out))
            assert float(m.weight.abs().max()) <= limit * F32, name
            if m.weight.numel() >= BIG:
                assert abs(float(m.weight.std()) / (limit / math.sqrt(3)) - 1) < 0.05, name
            if m.bias is not None:
                assert bool(torch.all(m.bias == 0)), name
                with_bias += 1
    assert with_bias == 10 + 20 + 10 + 1  # the residual projections and the classifier
    _check_scaleless_bns(modules)


# Where each shipped CIFAR / paper spec's rules come from: the spec (or the family it calls) names it.
SOURCES = {
    "cifar/families/resnet_cifar.res": "fb.resnet.torch",
    "cifar/families/preact_resnet_cifar.res": "KaimingHe/resnet-1k-layers",
    "cifar/families/densenet_cifar.res": "liuzhuang13/DenseNet",
    "cifar/families/resnext_cifar.res": "facebookresearch/ResNeXt",
    "cifar/families/wrn.res": "szagoruyko/wide-residual-networks",
    "cifar/families/resnet_cifar_sd.res": "yueatsprograms/Stochastic_Depth",
    "cifar/families/fractalnet.res": "gustavla/fractalnet",
    "cifar/nin.res": "mavenlin/cuda-convnet NIN/cifar-10_def",
    "paper/families/resnet_paper.res": "fb.resnet.torch",
    "paper/alexnet.res": "Sec. 5",
    "paper/bn_nin.res": "soumith/imagenet-multiGPU.torch models/ninbn.lua",
    "paper/bn_alexnet.res": "soumith/imagenet-multiGPU.torch models/alexnetowtbn_cudnn.lua",
    "paper/enet.res": "e-lab/ENet-training",
    "paper/families/inception_v4.res": "tensorflow/models research/slim/nets/inception_v4.py",
    "paper/families/inception_resnet_v2.res": "tensorflow/models research/slim/nets/inception_resnet_v2.py",
}
NO_SOURCE = {"cifar/allcnn_c.res": "We found no code released by the authors"}


def test_every_cifar_and_paper_spec_states_its_init_and_cites_where_it_comes_from():
    shipped = {str(p.relative_to(SPECS)) for d in ("cifar", "paper") for p in (SPECS / d).rglob("*.res")}
    for path in sorted(shipped):
        net = resdsl.load(SPECS / path)
        if path in NO_SOURCE:
            assert net.init.empty and NO_SOURCE[path] in (SPECS / path).read_text(), path
        else:
            assert not net.init.empty, f"{path} states no init rules and says nothing about it"
    for path, source in {**SOURCES, **NO_SOURCE}.items():
        assert path in shipped, path
        text = (SPECS / path).read_text()
        section = next((line for line in text.splitlines() if line.strip().startswith("init {")), "")
        assert source in text and ("#" in section or path in NO_SOURCE or "Sec." in text), path
