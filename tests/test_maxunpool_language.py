"""Max-unpooling in the language: `maxunpool @pool1` reads the indices of the max pool labelled pool1
(or `@block.pool1`, a pool labelled inside the block labelled block); misuse is a located error with a
hint.  Without torch: the oracle comparisons are in test_primitives_oracle.py and test_enet.py."""
from __future__ import annotations

import pytest

import resdsl
from resdsl.diagnostics import ArgumentError, NameResolutionError, ResdslError, ShapeError
from resdsl.ir import ops

DOWN = """block down(w) {
  add {
    { pool: maxpool 2x2/2, zeropad w }
    { conv 2x2/2 w pad=0, bn }
  }
}
"""


def _load(body: str, shape: str = "8x16x16", blocks: str = ""):
    return resdsl.load(f"{blocks}network t {{\n  input {shape}\n{body}\n}}\n")


def _error(body: str, cls=ResdslError, blocks: str = "") -> ResdslError:
    with pytest.raises(cls) as info:
        _load(body, blocks=blocks)
    return info.value


def test_an_unpool_reads_the_labelled_pool_and_restores_its_input_size():
    net = _load("  p: maxpool 2x2/2\n  conv 3x3 8\n  u: maxunpool @p")
    unpool = net.graph.nodes[-1]
    assert isinstance(unpool.op, ops.MaxUnpool)
    assert [net.graph.nodes[i].path for i in unpool.inputs] == ["1", "p"]
    assert unpool.type.shape == (8, 16, 16)
    assert net.graph.indexed_pools == {net.graph.nodes[unpool.inputs[1]].id}
    assert net.params == 8 * 8 * 9


def test_the_unpool_restores_odd_sizes_and_padded_pools():
    net = _load("  p: maxpool 3x3/2 pad=1\n  maxunpool @p", shape="4x15x9")
    assert net.output_type.shape == (4, 15, 9)
    assert net.graph.nodes[-1].op == ops.MaxUnpool((3, 3), (2, 2), (1, 1), (15, 9))


def test_a_pool_inside_a_labelled_block_is_reached_with_a_dot():
    net = _load("  d1: down 16\n  conv 3x3 8\n  maxunpool @d1.pool", blocks=DOWN)
    unpool = net.graph.nodes[-1]
    assert net.graph.nodes[unpool.inputs[1]].path == "d1.pool"
    assert unpool.type.shape == (8, 16, 16)


def test_a_pool_two_scopes_deep_is_reached_with_a_dotted_path():
    enc = "block enc(w) { stage: down w, conv 3x3 w }\n"
    net = _load("  e1: enc 16\n  conv 3x3 8\n  maxunpool @e1.stage.pool", blocks=DOWN + enc)
    unpool = net.graph.nodes[-1]
    assert net.graph.nodes[unpool.inputs[1]].path == "e1.stage.pool"
    assert unpool.type.shape == (8, 16, 16)
    # In an expression too, and with a dimension after the path.
    net = _load("  e1: enc 16\n  conv(3x3, @e1.stage.pool.c * 1)\n  maxunpool @e1.stage.pool", blocks=DOWN + enc)
    assert net.graph.nodes[-2].op.out_channels == 8 and net.output_type.shape == (8, 16, 16)
    err = _error("  e1: enc 16\n  maxunpool @e1.stage.pol", NameResolutionError, blocks=DOWN + enc)
    assert err.message == "@e1 has no max pool labelled 'stage.pol'"
    assert "@e1.stage.pool" in err.hint


def test_a_pool_is_passed_to_a_block_as_a_tensor_argument():
    up = "block up(pool) { conv 1x1 8, maxunpool @pool }\n"
    net = _load("  d1: down 16\n  up(@d1.pool)", blocks=DOWN + up)
    assert net.output_type.shape == (8, 16, 16)


def test_two_calls_of_the_same_block_keep_their_own_pools():
    net = _load("  d1: down 16\n  d2: down 16\n  maxunpool @d2.pool\n  conv 1x1 8\n  maxunpool @d1.pool",
                blocks=DOWN)
    unpools = [n for n in net.graph.nodes if isinstance(n.op, ops.MaxUnpool)]
    assert [net.graph.nodes[u.inputs[1]].path for u in unpools] == ["d2.pool", "d1.pool"]
    assert [u.type.shape for u in unpools] == [(16, 8, 8), (8, 16, 16)]


def test_unpooling_a_conv_is_refused_at_the_argument():
    err = _error("  c: conv 3x3 8\n  maxunpool @c", ArgumentError)
    assert (err.span.line, err.span.column) == (4, 3)
    assert "a max pool found them, but this tensor is the output of a 3x3 conv, 8" in err.message
    assert "`maxunpool @pool1`" in err.hint


def test_unpooling_an_average_pool_or_the_input_is_refused():
    assert "output of a 2x2 avg pool, /2" in _error("  p: avgpool 2x2/2\n  maxunpool @p").message


def test_a_number_for_the_indices_is_refused_with_a_hint():
    err = _error("  p: maxpool 2x2/2\n  maxunpool 3", ArgumentError)
    assert "maxunpool's indices must be an earlier tensor like @pool1, got a whole number (3)" in err.message
    assert (err.span.line, err.span.column) == (4, 3)


def test_an_unknown_pool_inside_a_block_suggests_the_right_one():
    err = _error("  d1: down 16\n  maxunpool @d1.pol", NameResolutionError, blocks=DOWN)
    assert err.message == "@d1 has no max pool labelled 'pol'"
    assert "@d1.pool" in err.hint
    assert (err.span.line, err.span.column) == (10, 13)


def test_an_unknown_tensor_is_refused_as_before():
    err = _error("  maxunpool @nowhere", NameResolutionError)
    assert "no tensor named '@nowhere'" in err.message


def test_a_shape_change_before_the_unpool_is_refused_at_the_unpool():
    err = _error("  p: maxpool 2x2/2\n  conv 1x1 4\n  maxunpool @p", ShapeError)
    assert "maxunpool puts back the indices of a 8x8x8 pool output, but its input is 4x8x8" in err.message
    assert (err.span.line, err.span.column) == (5, 3)
    assert "undo the channel change" in err.hint


def test_dimensions_still_win_over_pool_names():
    net = _load("  d1: down 16\n  conv(1x1, @d1.c)", blocks=DOWN)
    assert net.output_type.shape == (16, 8, 8)


def test_spatial_dropout_and_output_padding():
    net = _load("  dropout 0.1 spatial=true\n  upconv 3x3/2 4 pad=1 output_pad=1")
    assert net.graph.nodes[1].op == ops.Dropout(0.1, True)
    assert net.output_type.shape == (4, 32, 32)
    assert "must be smaller than its stride" in _error("  upconv 3x3/2 4 pad=1 output_pad=2").message
    assert "flat vector" in _error("  flatten\n  dropout 0.1 spatial=true").message


def test_a_replayed_block_call_exposes_its_own_pool():
    # The second call of `pp` on the same input type is replayed from the first one's expansion.
    net = resdsl.loads("""block pp() { add { identity; { p: maxpool 2x2/2, upsample 2 } } }
network t {
  input 8x16x16
  a: pp
  b: pp
  avgpool 2x2/2
  maxunpool @b.p
  avgpool 2x2/2
  maxunpool @a.p
}
""")
    unpools = [n for n in net.graph.nodes if isinstance(n.op, ops.MaxUnpool)]
    assert [net.graph.nodes[u.inputs[1]].path for u in unpools] == ["b.p", "a.p"]
