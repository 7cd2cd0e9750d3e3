"""FractalNet's drop-path (Larsson et al. 2017, Sec. 3.1): local (each join drops each input with
probability p, keeping one) and global (one column for the whole network), alternating per mini-batch.
The spec states both as data on the joins: `mean drop=p global=g columns=[...]`."""
from __future__ import annotations

from pathlib import Path

import pytest

import resdsl
from resdsl.diagnostics import ResdslError, ShapeError
from resdsl.ir import ops

SPECS = Path(__file__).resolve().parent.parent / "specs" / "cifar"

JOIN = """network t {{
  input 4x8x8
  mean {args} {{
    identity
    conv 3x3 4
    {{ conv 3x3 4, conv 3x3 4 }}
  }}
}}
"""


def _join(args: str) -> ops.Mean:
    net = resdsl.loads(JOIN.format(args=args))
    (mean,) = [n.op for n in net.graph.nodes if isinstance(n.op, ops.Mean)]
    return mean


def _refused(args: str) -> ResdslError:
    with pytest.raises(ShapeError) as info:
        _join(args)
    return info.value


def test_the_join_carries_its_columns_and_both_rates():
    assert _join("drop=0.15 global=0.5 columns=[1, 2, 3]") == ops.Mean(0.15, (1, 2, 3), 0.5)
    assert _join("drop=0.15") == ops.Mean(0.15)


@pytest.mark.parametrize("args, message, column", [
    ("global=0.5", "global drop-path needs the column of each branch", 8),
    ("global=0.5 columns=[1, 2]", "names 2 columns but the join has 3 branches", 19),
    ("global=0.5 columns=[1, 2, 2]", "names a column twice", 19),
    ("global=0.5 columns=[0, 1, 2]", "a list of column numbers (1, 2, ...)", 19),
    ("global=1 columns=[1, 2, 3]", "mean's global is a probability in [0, 1); got 1", 8),
    ("drop=-0.1", "mean's drop is a probability in [0, 1)", 8),
])
def test_misuse_is_located_at_the_argument(args, message, column):
    err = _refused(args)
    assert message in err.message
    assert (err.span.line, err.span.column) == (3, column)
    assert err.hint


def test_joins_of_one_network_must_share_the_global_rate():
    text = """network t {
  input 4x8x8
  mean global=0.5 columns=[1, 2] { identity; conv 3x3 4 }
  mean global=0.25 columns=[1, 2] { identity; conv 3x3 4 }
}
"""
    with pytest.raises(ResdslError) as info:
        resdsl.loads(text)
    err = info.value
    assert "this join's global drop-path is 0.25, another's is 0.5" in err.message
    assert err.span.line == 4
    assert err.diagnostics[0].notes[0][0].line == 3


@pytest.mark.parametrize("spec, columns", [("fractalnet20_droppath.res", 3), ("fractalnet40.res", 4)])
def test_the_fractal_joins_number_their_columns_as_the_expansion_rule(spec, columns):
    net = resdsl.load(str(SPECS / spec))
    joins = [n for n in net.graph.nodes if isinstance(n.op, ops.Mean)]
    per_block = len(joins) // 5
    assert per_block == 2 ** (columns - 2)     # f_C holds two f_(C-1)'s joins, the last merged with its own
    # Each join averages the deepest k columns of its block, shallowest first; the block's last all of them.
    assert all(n.op.columns == tuple(range(columns - len(n.inputs) + 1, columns + 1)) for n in joins)
    assert all(joins[b * per_block + per_block - 1].op.columns == tuple(range(1, columns + 1)) for b in range(5))


def test_the_droppath_variant_trains_half_its_minibatches_globally():
    net = resdsl.load(str(SPECS / "fractalnet20_droppath.res"))
    joins = [n.op for n in net.graph.nodes if isinstance(n.op, ops.Mean)]
    assert {(j.drop, j.global_drop) for j in joins} == {(0.15, 0.5)}
    assert net.params == resdsl.load(str(SPECS / "fractalnet20.res")).params == 33_724_618
