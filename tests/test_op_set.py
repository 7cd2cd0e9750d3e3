"""Every op of the closed set, through every command: the tables cover it, and a use of it checks,
counts, draws, builds and compiles to a file that computes what build computes."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from op_walk import STRUCTURES, examples, missing_entries, op_classes, probe_source, walk  # noqa: E402

from resdsl.elaborate import primitives  # noqa: E402
from resdsl.ir import activations, ops  # noqa: E402

pytestmark = pytest.mark.torch


def test_ops_is_every_op_class_of_the_module():
    defined = {v for v in vars(ops).values() if isinstance(v, type) and issubclass(v, ops.Op) and v is not ops.Op}
    assert set(ops.OPS) == defined


def test_every_table_covers_every_op():
    assert missing_entries() == []


def test_every_op_is_reached_by_an_example():
    reached: set[type] = set()
    for line in examples().values():
        reached |= op_classes(line)
    missing = [cls.__name__ for cls in ops.OPS if cls not in reached]
    assert not missing, f"ops no primitive example or STRUCTURES entry uses: {missing}"


@pytest.mark.parametrize("name", sorted(examples()))
@pytest.mark.parametrize("labelled", [False, True], ids=["positional", "labelled"])
def test_walk(name, labelled, tmp_path):
    walk(examples()[name], tmp_path, labelled)


def _half_register(monkeypatch, name: str) -> None:
    """An activation added to the op table (and so to the primitives) but spelt in no back end."""
    facts = activations.ActivationFacts(name, name.upper(), "a half-registered activation", inplace=False)
    monkeypatch.setitem(activations.ACTIVATIONS, name, facts)
    monkeypatch.setitem(primitives.PRIMITIVES, name, primitives._activation(facts))


def test_a_half_registered_activation_is_named_with_what_it_lacks(monkeypatch):
    _half_register(monkeypatch, "relu7")
    assert missing_entries() == ["activation relu7: no torch spelling in backends/lowering.py ACTIVATIONS",
                                 "activation relu7: no Python spelling in backends/pycode_ops.py ACTIVATION_CODE"]


def test_the_walk_fails_on_a_half_registered_activation(monkeypatch, tmp_path):
    _half_register(monkeypatch, "relu7")
    with pytest.raises(AssertionError, match=r"`relu7`: build failed: .*relu7"):
        walk("relu7", tmp_path)


def test_a_half_registered_op_class_is_named(monkeypatch):
    class Twice(ops.Op):  # a new op with a shape rule and a cost, in no back end
        kind = "twice"

        def infer(self, inputs):
            return inputs[0]

        def cost(self, inputs, out):
            return ops.OpCost(elementwise=out.numel)

    monkeypatch.setattr(ops, "OPS", (*ops.OPS, Twice))
    assert missing_entries() == ["Twice: no torch constructor in backends/lowering.py LAYERS"]


def test_probe_source_is_a_network():
    assert probe_source("relu").startswith("network probe {")
    assert set(STRUCTURES) <= set(examples())
