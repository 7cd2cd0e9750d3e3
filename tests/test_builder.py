"""The graph builder's shortcuts keep the graph what plain construction would make."""
from __future__ import annotations

from resdsl.ir import ops
from resdsl.elaborate.builder import _op_key
from resdsl.ir.graph import Node, new_node
from resdsl.ir.types import TensorType
from resdsl.diagnostics import SourceSpan
from resdsl.pipeline import load


def test_new_node_equals_the_dataclass_constructor_field_by_field():
    span = SourceSpan("f.res", 1, 2, 3, 4)
    fields = (7, ops.Conv(3, 8, (3, 3)), (1, 2), TensorType((8, 4, 4)), "conv1", "layer1.0.conv1", 5, "layer1", span)
    fast, plain = new_node(*fields), Node(*fields)
    assert fast == plain and hash(fast) == hash(plain)
    assert [getattr(fast, f) for f in Node.__dataclass_fields__] == list(fields)


def test_equal_ops_are_shared():
    net = load("network n {\n  input 8x8x8\n  a: leaky_relu 0.2, b: leaky_relu 0.2, c: leaky_relu 0.1\n"
               "  d: conv 3x3 8 pad=1, e: conv 3x3 8 pad=1, f: conv 3x3 8 pad=0\n}\n")
    by_name = {node.name: node.op for node in net.graph.nodes}
    assert by_name["a"] is by_name["b"] and by_name["a"] is not by_name["c"]
    assert by_name["d"] is by_name["e"] and by_name["d"] is not by_name["f"]


def test_ops_that_print_differently_are_never_shared():
    """Dataclass equality says 1 == 1.0; the code generators print them apart, so sharing may not."""
    assert ops.Dropout(1) == ops.Dropout(1.0) and _op_key(ops.Dropout(1)) != _op_key(ops.Dropout(1.0))
    slope = [ops.Activation("leaky_relu", (("slope", v),)) for v in (1, 1.0)]
    assert slope[0] == slope[1] and _op_key(slope[0]) != _op_key(slope[1])
    assert _op_key(ops.Pool("max", (2, 2), (2, 2), (0, 0))) == _op_key(ops.Pool("max", (2, 2), (2, 2), (0, 0)))


def _elaborate_keeping_state(spec: str, monkeypatch):
    """Elaborate network n, and the working state the elaborator lets go of at the end."""
    from resdsl.elaborate.elaborator import Elaborator
    from resdsl.pipeline import load_program

    spent = []
    release = Elaborator._spent_state
    monkeypatch.setattr(Elaborator, "_spent_state", staticmethod(lambda state: spent.append(state) or release(state)))
    elaborator = Elaborator(load_program(spec))
    return elaborator, elaborator.network("n").graph, spent[0]


def test_a_block_called_once_is_never_captured_and_twice_is_replayed(monkeypatch):
    spec = ("block b(w) { conv 3x3 w pad=1, bn, relu }\n"
            "network n {\n  input 3x8x8\n  g: {\n    x: b 8\n    y: b 8\n    z: b 8\n    w: b 16\n  }\n}\n")
    _, graph, state = _elaborate_keeping_state(spec, monkeypatch)
    templates = list(state.templates.values())
    assert len(templates) == 3  # x (from 3 channels), y (from 8), w (to 16)
    assert sorted(t._template is not None for t in templates) == [False, False, True]  # only y is replayed
    assert [n.path for n in graph.nodes[1:]] == [f"g.{s}.{i}" for s in "xyzw" for i in range(3)]
    assert [n.op for n in graph.nodes[7:10]] == [n.op for n in graph.nodes[4:7]]  # z replays y


def test_the_elaborator_lets_its_working_state_go_and_closes_finished_scopes(monkeypatch):
    """Peak memory: after a network the elaborator keeps only its budget and the spec's functions, and
    while it runs, a finished block's name tables are dropped (a replayed block never makes them)."""
    spec = ("block b(w) { residual { conv 3x3 w pad=1, bn }, relu }\n"
            "network n {\n  input 8x8x8\n  s: {\n    x: b 8\n    y: b 8\n    g: { z: b 8 }\n  }\n}\n")
    elaborator, graph, state = _elaborate_keeping_state(spec, monkeypatch)
    assert elaborator.state.builder is None and not elaborator.state.templates
    assert elaborator.globals is state.globals and elaborator.work is state.work
    names = {s.path: (st.names, st.functional, st.display_only) for s, st in
             ((st.scope, st) for st in state.builder.scopes)}
    assert names["s.x"] == (None, None, None) and names["s.g"] == (None, None, None)  # closed
    assert names["s.y"] == ({}, None, None) and names["s.g.z"] == ({}, None, None)    # replayed: never named
    assert set(names[""][0]) == {"input", "s"}                                        # the network's stays open
    assert [n.path for n in graph.nodes if n.path.startswith("s.x.")] == ["s.x.0", "s.x.1", "s.x.add", "s.x.2"]
    assert [n.path for n in graph.nodes if n.path.startswith("s.g.z.")] == [
        "s.g.z.0", "s.g.z.1", "s.g.z.add", "s.g.z.2"]
    import pytest
    with pytest.raises(AssertionError, match="closed"):
        state.builder.claim(2, "late", True, graph.nodes[1].span)


def test_a_shared_op_on_other_inputs_gets_their_shape():
    """Ops and output types are memoised per (op, input types): the same relu on two map sizes, and
    the same written call `conv 3x3 8` on inputs of 3 and 8 channels, stay what each input makes."""
    net = load("network n {\n  input 3x8x8\n  a: conv 3x3 8, r1: relu, p: maxpool 2, r2: relu\n"
               "  b: conv 3x3 8, r3: relu\n}\n")
    nodes = {node.name: node for node in net.graph.nodes}
    assert nodes["r1"].op is nodes["r2"].op
    assert (nodes["r1"].type.shape, nodes["r2"].type.shape) == ((8, 8, 8), (8, 4, 4))
    assert (nodes["a"].op.in_channels, nodes["b"].op.in_channels) == (3, 8)
    assert nodes["r3"].op is nodes["r1"].op and nodes["r3"].type.shape == (8, 4, 4)
