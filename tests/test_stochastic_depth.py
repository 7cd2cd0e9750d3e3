"""Stochastic depth in both conventions, with the schedule stated in the spec and computed up front.

Oracles: torchvision's own schedules (EfficientNet, ConvNeXt: read off the StochasticDepth modules its
builders make) and torchvision.ops.stochastic_depth itself for the per-sample ("row") drop."""
from __future__ import annotations

import importlib
import sys
import types

import pytest

torch = pytest.importorskip("torch")

from resdsl.backends.torch import DropPath, build_module  # noqa: E402
from resdsl.diagnostics import ResdslError, SpecSyntaxError  # noqa: E402
from resdsl.ir import ops  # noqa: E402
from resdsl.pipeline import load  # noqa: E402


@pytest.fixture(scope="module")
def torchvision():
    sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
    try:
        return importlib.import_module("torchvision")
    except ImportError as err:  # pragma: no cover
        pytest.skip(f"torchvision is not installed: {err}")


def _net(statement: str, depths: list[int], extra: str = "") -> str:
    rows = "\n".join(f"    stage{k}: 8 x{d}" for k, d in enumerate(depths, start=1))
    return f"""
block res(width, stride=1) {{
  residual shortcut=B {{ conv 3x3 width /stride, bn }}
}}
block plain_unit(width, stride=1) {{ conv 3x3 width /stride, bn }}
network n {{
  input 3x8x8
  {statement}
  stem conv 3x3 8
  stages res {{
{rows}
  }}
  {extra}
}}
"""


def _drop_paths(net) -> list[ops.DropPath]:
    return [n.op for n in net.graph.nodes if isinstance(n.op, ops.DropPath)]


def test_efficientnet_schedule_equals_torchvisions(torchvision):
    from torchvision.models import efficientnet_b0
    from torchvision.ops import StochasticDepth

    with torch.device("meta"):
        ref = efficientnet_b0(stochastic_depth_prob=0.2)
    expected = [m.p for m in ref.modules() if isinstance(m, StochasticDepth)]
    depths = [1, 2, 2, 3, 3, 4, 1]  # EfficientNet-B0's stages
    net = load(_net("stochastic_depth(drop=0.2 * block / blocks, mode=row)", depths))
    drops = _drop_paths(net)
    assert len(drops) == len(expected) == 16
    assert [1.0 - d.survival for d in drops] == pytest.approx(expected, abs=1e-15)
    assert [d.survival for d in drops] == [1.0 - p for p in expected]  # the same floats, bit for bit
    assert {d.mode for d in drops} == {"row"}


def test_convnext_schedule_equals_torchvisions(torchvision):
    from torchvision.models import convnext_tiny
    from torchvision.ops import StochasticDepth

    with torch.device("meta"):
        ref = convnext_tiny(stochastic_depth_prob=0.1)
    expected = [m.p for m in ref.modules() if isinstance(m, StochasticDepth)]
    net = load(_net("stochastic_depth(drop=0.1 * block / (blocks - 1), mode=row)", [3, 3, 9, 3]))
    assert [d.survival for d in _drop_paths(net)] == [1.0 - p for p in expected]


def test_the_papers_linear_decay_is_unchanged():
    net = load(_net("stochastic_depth 0.5", [3, 3, 3]))
    assert [d.survival for d in _drop_paths(net)] == [1.0 - l / 9 * (1.0 - 0.5) for l in range(1, 10)]
    assert {d.mode for d in _drop_paths(net)} == {"paper"}


def test_blocks_without_a_residual_take_their_place_in_the_schedule():
    # EfficientNet's first block of a stage may have no residual; it still counts (torchvision's stage_block_id).
    source = """
block unit(width, skip=true) {
  if skip { residual { conv 3x3 width, bn } } else { conv 3x3 width, bn }
}
network n {
  input 3x8x8
  stochastic_depth(drop=0.5 * block / blocks, mode=row)
  stages unit {
    first: 8 x1 skip=false
    rest: 8 x4
  }
}
"""
    drops = _drop_paths(load(source))
    assert [d.survival for d in drops] == [1.0 - 0.5 * i / 5 for i in range(1, 5)]


def test_rates_follow_the_rows_after_the_statement_and_may_use_lets():
    source = """
block res(width) { residual { conv 3x3 width, bn } }
network n(depth=4) {
  input 3x8x8
  stochastic_depth(drop=0.3 * (block + 1) / blocks, mode=batch)
  let n = depth // 2
  stem conv 3x3 8
  stages res {
    a: 8 x(n)
    b: 8 x(n + 1)
  }
}
"""
    drops = _drop_paths(load(source))
    assert [d.survival for d in drops] == [1.0 - 0.3 * (i + 1) / 5 for i in range(5)]
    assert {d.mode for d in drops} == {"batch"}


@pytest.mark.parametrize("statement, words", [
    ("stochastic_depth(drop=0.5, mode=\"sideways\")", "paper, row or batch"),
    ("stochastic_depth(0.5, drop=0.1)", "or drop=EXPR"),
    ("stochastic_depth(drop=2 * block)", "between 0 and 1"),
    ("stochastic_depth 1.5", "between 0 and 1"),
])
def test_bad_schedules_are_located_errors(statement, words):
    with pytest.raises(ResdslError) as err:
        load(_net(statement, [2, 2]))
    assert words in err.value.message or words in (err.value.hint or "")
    assert err.value.span.line == 8


def test_a_residual_outside_the_stages_is_refused_under_stochastic_depth():
    with pytest.raises(SpecSyntaxError) as err:
        load(_net("stochastic_depth 0.5", [2], extra="res 8"))
    assert "outside" in err.value.message and err.value.span.line == 3


def test_row_mode_lowers_to_torchvisions_stochastic_depth(torchvision):
    from torchvision.ops import stochastic_depth

    x = torch.randn(64, 3, 4, 4)
    for p in (0.0, 0.1, 0.5, 0.9, 1.0):
        for mode in ("row", "batch"):
            ours = DropPath(1.0 - p, mode).train()
            torch.manual_seed(7)
            got = ours(x)
            torch.manual_seed(7)
            want = stochastic_depth(x, p, mode, training=True)
            assert torch.equal(got, want), (p, mode)
            assert torch.equal(ours.eval()(x), stochastic_depth(x, p, mode, training=False))
    # per sample: some rows dropped, the rest scaled by 1/survival
    torch.manual_seed(0)
    y = DropPath(0.5, "row").train()(x)
    rows = [bool(torch.count_nonzero(r)) for r in y]
    assert 0 < sum(rows) < len(rows)
    kept = [i for i, keep in enumerate(rows) if keep]
    assert torch.allclose(y[kept], x[kept] / 0.5)


def test_a_built_network_in_row_mode_is_the_identity_at_test_time():
    net = load(_net("stochastic_depth(drop=0.2 * block / blocks, mode=row)", [2, 2]))
    model = build_module(net)
    reference = load(_net("", [2, 2]))
    plain = build_module(reference)
    plain.load_state_dict(model.state_dict(), strict=True)
    model.eval(), plain.eval()
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(model(x), plain(x))
    assert net.totals.params == reference.totals.params


def test_droppath_op_takes_a_mode():
    net = load("network n {\n input 3x8x8\n conv 3x3 8\n droppath 0.25 mode=row\n}")
    (drop,) = _drop_paths(net)
    assert drop.survival == 0.75 and drop.mode == "row"


def test_generated_python_drops_the_same_rows(tmp_path):
    import importlib.util

    from resdsl.backends import pycode

    net = load(_net("stochastic_depth(drop=0.3 * block / blocks, mode=row)", [2, 2]))
    path = tmp_path / "sd_row.py"
    path.write_text(pycode.generate(net))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    generated = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generated)
    theirs = generated.N()  # the class is named after the network
    ours = build_module(net)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(16, 3, 8, 8)
    ours.train(), theirs.train()
    torch.manual_seed(3)
    a = ours(x)
    torch.manual_seed(3)
    b = theirs(x)
    assert torch.equal(a, b)
