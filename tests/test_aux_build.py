"""Aux heads in the torch back end and the generated code: the training tuple, evaluation without the
heads, pickling and copying, heads written as blocks, groups or single ops."""
from __future__ import annotations

import copy
import pickle

import pytest

torch = pytest.importorskip("torch")

import resdsl  # noqa: E402
from resdsl.backends import pycode  # noqa: E402

pytestmark = pytest.mark.torch

SPEC = """
block side(classes) {
  adaptive_avgpool 2x2
  conv: conv 1x1 4
  fc: fc classes
}
network tiny(aux=true, named=true) {
  input 3x16x16
  stem conv1: conv 3x3 8, relu
  layer1: { conv 3x3/2 8, bn, relu }
  if aux { aux aux1: side(5) }
  layer2: conv 3x3/2 16
  if aux { aux aux2: { @layer1, gap, fc 3 } }
  if aux { aux aux3: fc 2 }
  head pool: gap, fc: fc 10
  if aux and named { outputs TinyOutputs(logits=main, aux_logits2=aux2, aux_logits1=aux1, third=aux3) }
}
"""


def build(**overrides):
    torch.manual_seed(0)
    return resdsl.build(resdsl.loads(SPEC, **overrides))


def x():
    return torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(5))


def test_training_returns_the_named_tuple_in_the_stated_order():
    model = build().train()
    out = model(x())
    assert type(out).__name__ == "TinyOutputs" and out._fields == ("logits", "aux_logits2", "aux_logits1", "third")
    assert [tuple(t.shape) for t in out] == [(2, 10), (2, 3), (2, 5), (2, 2)]
    # each field is what its head computes: aux1 from layer1's output through the side block
    with torch.no_grad():
        feats = model.layer1(model.conv1(x()).relu_())
        assert torch.allclose(out.aux_logits1, model.aux1(feats), atol=1e-6)


def test_evaluation_returns_the_main_output_and_runs_no_head():
    model = build().eval()
    ran = []
    for name in ("aux1", "aux3"):
        getattr(model, name).register_forward_hook(lambda *a, name=name: ran.append(name))
    with torch.no_grad():
        y = model(x())
        main = build(aux=False).eval()
        main.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("aux")})
        assert torch.equal(y, main(x()))
    assert ran == [] and y.shape == (2, 10)


def test_without_an_outputs_statement_training_returns_outputs_main_then_the_heads():
    out = build(named=False).train()(x())
    assert type(out).__name__ == "Outputs" and out._fields == ("main", "aux1", "aux2", "aux3")


def test_switched_off_the_module_has_no_heads_and_returns_a_tensor():
    model = build(aux=False).train()
    assert not any(k.startswith("aux") for k in model.state_dict())
    assert isinstance(model(x()), torch.Tensor)


def test_a_model_with_heads_pickles_and_copies():
    model = build().train()
    with torch.no_grad():
        first = model(x())
        again = pickle.loads(pickle.dumps(model))(x())
        copied = copy.deepcopy(model)(x())
    for a, b, c in zip(first, again, copied):
        assert torch.equal(a, b) and torch.equal(a, c)


def test_generated_code_returns_the_same_in_training_and_evaluation():
    net = resdsl.loads(SPEC)
    source = pycode.generate(net)
    assert 'TinyOutputs = namedtuple("TinyOutputs", ["logits", "aux_logits2", "aux_logits1", "third"])' in source
    assert source.count("if self.training:") >= 2  # aux1 after layer1, aux2 and aux3 after layer2, the return
    generated = pycode.load_source(source)()
    built = build()
    generated.load_state_dict(built.state_dict(), strict=True)
    with torch.no_grad():
        a, b = generated.train()(x()), built.train()(x())
        assert type(a).__name__ == "TinyOutputs" and a._fields == b._fields
        assert all(torch.equal(p, q) for p, q in zip(a, b))
        assert torch.equal(generated.eval()(x()), built.eval()(x()))


def test_a_main_path_value_read_by_a_head_stays_intact():
    """layer2's conv output feeds the main path and a head starting with a ReLU (which runs in place
    where its input has no other reader): in training the main output is what it is without heads."""
    spec = SPEC.replace("aux aux3: fc 2", "aux aux3: { relu, fc 2 }")
    torch.manual_seed(0)
    model = resdsl.build(resdsl.loads(spec)).train()
    plain = build(aux=False).train()
    plain.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("aux")})
    with torch.no_grad():
        assert torch.equal(model(x()).logits, plain(x()))
