"""`variance_scaling`, TensorFlow's fan-relative initialiser, drawn as TF draws it (there is no TF here to
compare tensors with, so these are its distribution facts): the std its formula gives within 3% on
73,728 draws, the truncation bound exactly respected and reached, the fan its mode names (fan-out is
twice fan-in below, so the wrong fan misses by 30%), and `resdsl.build` and the generated code giving the
same tensors under the same seed."""
from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

import resdsl  # noqa: E402
from oracles import SPECS  # noqa: E402

TRUNC = 0.87962566103423978  # the std of a unit normal truncated at +-2 (TF's correction)
F32 = 1 + 1e-6  # a bound computed in float64 holds to float32 rounding

# conv `a`: weight (128, 64, 3, 3), fan_in 576, fan_out 1152, fan_avg 864.
SPEC = """
network t {{
  input 64x8x8
  init {{ conv: variance_scaling({scale}, mode={mode}, distribution={dist}, bias=0)
         fc: variance_scaling(distribution=uniform, bias=0) }}
  a: conv 3x3 128 bias=true
  gap, flatten
  fc: fc 10
}}
"""
FANS = {"fan_in": 576, "fan_out": 1152, "fan_avg": 864}


def _weights(scale: float, mode: str, dist: str, seed: int = 0) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    model = resdsl.build(resdsl.load(SPEC.format(scale=scale, mode=mode, dist=dist)))
    return {k: v.detach() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("mode", list(FANS))
@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_truncated_normal_is_tf_keras_variance_scaling(scale, mode):
    # tf.keras VarianceScaling: stddev = sqrt(scale / n) / 0.8796..., redrawn beyond 2 stddev, so the
    # drawn std is sqrt(scale / n) itself.
    w = _weights(scale, mode, "truncated_normal")["a.weight"]
    target = math.sqrt(scale / FANS[mode])
    bound = 2 * target / TRUNC
    assert abs(float(w.std()) / target - 1) < 0.03
    assert float(w.abs().max()) <= bound * F32 and float(w.abs().max()) > 0.99 * bound
    assert abs(float(w.mean())) < 0.01 * target


@pytest.mark.parametrize("mode", list(FANS))
def test_slim_truncated_normal_is_tf_slims_variance_scaling_initializer(mode):
    # tf.contrib.layers.variance_scaling_initializer(factor=2.0): truncated_normal(0, sqrt(1.3 * 2 / n)),
    # redrawn beyond 2 of those; its drawn std is 0.8796 of that (about sqrt(2.0059 / n)).
    w = _weights(2.0, mode, "slim_truncated_normal")["a.weight"]
    stddev = math.sqrt(1.3 * 2.0 / FANS[mode])
    assert abs(float(w.std()) / (stddev * TRUNC) - 1) < 0.03
    assert float(w.abs().max()) <= 2 * stddev * F32 and float(w.abs().max()) > 0.99 * 2 * stddev


def test_untruncated_normal_and_uniform():
    w = _weights(2.0, "fan_in", "untruncated_normal")["a.weight"]
    std = math.sqrt(2.0 / 576)
    assert abs(float(w.std()) / std - 1) < 0.03 and float(w.abs().max()) > 3 * std  # not truncated
    w = _weights(2.0, "fan_in", "uniform")["a.weight"]
    limit = math.sqrt(3 * 2.0 / 576)
    assert float(w.abs().max()) <= limit * F32 and float(w.abs().max()) > 0.999 * limit
    assert abs(float(w.std()) / std - 1) < 0.03


def test_the_modes_are_told_apart():
    w = _weights(2.0, "fan_in", "truncated_normal")["a.weight"]
    assert abs(float(w.std()) / math.sqrt(2.0 / 1152) - 1) > 0.3   # not the fan-out's std
    w = _weights(2.0, "fan_out", "truncated_normal")["a.weight"]
    assert abs(float(w.std()) / math.sqrt(2.0 / 576) - 1) > 0.25   # not the fan-in's


def test_biases_are_the_constant_and_an_fc_counts_its_fans_as_tf():
    state = _weights(2.0, "fan_in", "truncated_normal")
    assert torch.all(state["a.bias"] == 0) and torch.all(state["fc.bias"] == 0)
    # fc weight (10, 128): TF's kernel is (128, 10), fan_in 128: uniform(+-sqrt(3 / 128)).
    assert float(state["fc.weight"].abs().max()) <= math.sqrt(3 / 128) * F32
    assert float(state["fc.weight"].abs().max()) > math.sqrt(3 / 256)  # wider than the fan-out's bound would be


def test_a_different_seed_gives_different_draws():
    a = _weights(2.0, "fan_in", "truncated_normal", seed=0)["a.weight"]
    b = _weights(2.0, "fan_in", "truncated_normal", seed=1)["a.weight"]
    assert not torch.equal(a, b)


@pytest.mark.parametrize("source, overrides", [
    (SPEC.format(scale=2.0, mode="fan_avg", dist="slim_truncated_normal"), {}),
    (SPECS / "paper/enet.res", {"height": 64, "width": 64}),  # kaiming_uniform(fan_out) on upconvs, prelu
    (SPECS / "cifar/nin.res", {}),
])
def test_generated_code_starts_from_the_same_tensors_as_build(source, overrides):
    from resdsl.backends import pycode

    net = resdsl.load(source if isinstance(source, str) else str(source), **overrides)
    code = pycode.generate(net)
    assert "init_weights(self, INIT_BY_TYPE, INIT_BY_PATH)" in code
    assert ("def variance_scaling_(" in code) == ("variance_scaling_" in str(net.init.runtime_tables()))
    torch.manual_seed(0)
    ours = resdsl.build(net).state_dict()
    cls = pycode.load_source(code)
    torch.manual_seed(0)
    generated = cls().state_dict()
    assert list(ours) == list(generated)
    assert all(torch.equal(ours[k], generated[k]) for k in ours)


@pytest.mark.parametrize("ours, theirs", [
    ("variance_scaling(scale=1, distribution=uniform)", "kaiming_uniform(nonlinearity=linear)"),  # Caffe xavier
    ("variance_scaling(scale=1, mode=fan_avg, distribution=uniform)", "xavier_uniform()"),
    ("variance_scaling(scale=2, distribution=untruncated_normal)", "kaiming_normal()"),           # Caffe msra
    ("variance_scaling(scale=2, mode=fan_out, distribution=untruncated_normal)", "kaiming_normal(mode=fan_out)"),
])
def test_the_equivalences_docs_language_lists_draw_the_same_tensors(ours, theirs):
    # Same seed, same torch draw (uniform_ / normal_ with equal bounds): the tables in docs/language.md hold.
    def conv_weight(rule: str) -> torch.Tensor:
        text = SPEC.format(scale=1, mode="fan_in", dist="uniform").replace(
            "variance_scaling(1, mode=fan_in, distribution=uniform, bias=0)", rule)
        assert rule in text
        torch.manual_seed(0)
        return resdsl.build(resdsl.load(text)).state_dict()["a.weight"]

    assert torch.allclose(conv_weight(ours), conv_weight(theirs), rtol=1e-6, atol=0)
