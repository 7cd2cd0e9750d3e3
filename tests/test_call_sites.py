"""A primitive call site seen before is looked up by its argument values and input shape before its
arguments are bound (resdsl/elaborate/calls.py): every difference must still give its own op."""
from __future__ import annotations

from resdsl import loads
from resdsl.ir import ops

SPEC = """
block cell(w, p) {
  conv 3x3 w, bn, relu, dropout p
}
network n {
  input 3x16x16
  cell(8, 0.1), cell(8, 0.2), cell(9, 0.1), cell(8, 0.1), cell(8, 0.1)
}
"""


def test_each_call_gets_the_op_of_its_own_values_and_input():
    graph = loads(SPEC).graph
    convs = [node for node in graph.nodes if isinstance(node.op, ops.Conv)]
    drops = [node for node in graph.nodes if isinstance(node.op, ops.Dropout)]
    assert [(c.op.in_channels, c.op.out_channels) for c in convs] == [(3, 8), (8, 8), (8, 9), (9, 8), (8, 8)]
    assert [d.op.p for d in drops] == [0.1, 0.2, 0.1, 0.1, 0.1]
    assert [b.op.channels for b in graph.nodes if isinstance(b.op, ops.BatchNorm)] == [8, 8, 9, 8, 8]
    assert convs[1].op is convs[4].op  # the same site, values and input: one shared op


def test_a_bad_argument_is_reported_at_every_call_not_only_the_first():
    spec = SPEC.replace("cell(8, 0.1), cell(8, 0.2), cell(9, 0.1), cell(8, 0.1), cell(8, 0.1)", "cell(8, 0.5), cell(8, 2)")
    try:
        loads(spec)
    except Exception as err:  # dropout's p must be below 1: the second call's value
        assert ":3:" in str(err) and "p" in str(err), str(err)
    else:
        raise AssertionError("dropout 2 was accepted")
