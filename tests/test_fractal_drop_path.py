"""FractalNet's drop-path (Larsson et al. 2017, Sec. 3.1): local (each join drops each input with
probability p, keeping one) and global (one column for the whole network), alternating per mini-batch.
The spec states both as data on the joins: `mean drop=p global=g columns=[...]`."""
from __future__ import annotations

from pathlib import Path

import pytest

import resdsl
from resdsl.diagnostics import ArgumentError, ResdslError
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
    with pytest.raises(ArgumentError) as info:
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


# ---- in training: the draws of the torch runtime -------------------------------------------------

FAMILY = SPECS / "families" / "fractalnet.res"
SMALL = """import "{family}"
network small {{
  input 4x8x8
  b1: fractal3(4, 0.15, 0, 0.5)
  b2: fractal3(4, 0.15, 0, 0.5)
}}
"""


def _subset(xs, out, torch):
    """Which inputs a join averaged (by value: the output is the mean of exactly one subset)."""
    from itertools import combinations

    found = [s for n in range(1, len(xs) + 1) for s in combinations(range(len(xs)), n)
             if torch.allclose(torch.stack([xs[i] for i in s]).mean(0), out, atol=1e-6)]
    assert len(found) == 1, found
    return found[0]


def test_global_and_local_drop_path_draws_have_the_papers_distribution():
    torch = pytest.importorskip("torch")
    net = resdsl.loads(SMALL.format(family=FAMILY))
    module = resdsl.build(net).train()
    joins = [(name, m) for name, m in module.named_modules() if type(m).__name__ == "MeanJoin"]
    assert [m.columns for _, m in joins] == [(2, 3), (1, 2, 3)] * 2
    sampler = joins[0][1].sampler
    assert sampler is not None and all(m.sampler is sampler for _, m in joins)   # one draw for the network
    assert (sampler.rate, sampler.columns) == (0.5, 3)

    seen: list[tuple] = []
    hooks = [m.register_forward_hook(lambda m, xs, out, name=name: seen.append((name, m.columns, xs, out)))
             for name, m in joins]
    torch.manual_seed(2017)
    x = torch.randn(2, 4, 8, 8)
    draws, kept = [], {}
    forwards = 400
    with torch.no_grad():
        for _ in range(forwards):
            seen.clear()
            module(x)
            column = sampler.column
            draws.append(column)
            for name, columns, xs, out in seen:
                if column is not None:
                    if column in columns:   # the input from the chosen column, as it is
                        assert out is xs[columns.index(column)]
                    else:                   # off the path: averaged, unused
                        assert torch.allclose(out, torch.stack(xs).mean(0))
                else:
                    chosen = _subset(xs, out, torch)
                    for i in range(len(xs)):
                        kept.setdefault((name, i), []).append(i in chosen)
    for h in hooks:
        h.remove()
    globals_ = [c for c in draws if c is not None]
    # Binomial(400, 0.5): sd 10; each column of ~200 global batches: ~66.7, sd ~6.7 (fixed seed).
    assert 160 <= len(globals_) <= 240, len(globals_)
    assert all(40 <= globals_.count(c) <= 95 for c in (1, 2, 3)), [globals_.count(c) for c in (1, 2, 3)]
    # Local: each input survives with 0.85 (a little more: one is kept when all would drop).
    rates = {key: sum(v) / len(v) for key, v in kept.items()}
    assert all(0.79 <= r <= 0.92 for r in rates.values()), rates
    assert len(kept) == 10 and all(len(v) == forwards - len(globals_) for v in kept.values())


def test_evaluation_averages_every_column_and_draws_nothing():
    torch = pytest.importorskip("torch")
    module = resdsl.build(resdsl.loads(SMALL.format(family=FAMILY))).eval()
    (name, join), *_ = [(n, m) for n, m in module.named_modules() if type(m).__name__ == "MeanJoin"]
    x = torch.randn(2, 4, 8, 8)
    torch.manual_seed(0)
    state = torch.get_rng_state()
    with torch.no_grad():
        a, b = module(x), module(x)
    assert torch.equal(a, b) and join.sampler.column is None
    assert torch.equal(torch.get_rng_state(), state)   # no random draw at all in evaluation


def test_generated_code_draws_the_same_columns_as_build():
    torch = pytest.importorskip("torch")
    from resdsl.backends import pycode

    net = resdsl.loads(SMALL.format(family=FAMILY))
    source = pycode.generate(net)
    assert "global_drop_path(self)" in source and "class ColumnDropPath" in source
    built, generated = resdsl.build(net), pycode.load_source(source)()
    generated.load_state_dict(built.state_dict(), strict=True)
    x = torch.randn(2, 4, 8, 8)
    for seed in range(20):
        outs = []
        for model in (built, generated):
            torch.manual_seed(seed)
            with torch.no_grad():
                outs.append(model.train()(x))
        assert torch.allclose(*outs, atol=1e-6), seed
